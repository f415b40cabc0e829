"""What azuchi costs on AWS (``azuchi cost``), from a load run's ``operations`` record.

``inputs`` reads and checks the record, the traffic profile and the settings; ``units``
turns the run into billed units per turn (the lock's and agent memory's modelled for both
backends); ``pricing`` prices them per deployment profile; ``reference`` is the built-in
run; ``cli`` is the command. docs/cost.md explains the model and its figures.
"""
