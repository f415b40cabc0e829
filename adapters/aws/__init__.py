"""What the AWS adapters share: their clients (aioboto3's, or the standard-library lite one
in ``lite/``), the errors of both classified alike (``errors``), and what is retried
(``retry``)."""
