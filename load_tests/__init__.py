"""The load generator: concurrent chat sessions against azuchi, checked and measured
(``azuchi load``). Its ``operations`` record is what the cost model (``costmodel``) prices."""
