"""One parser of a stored batch hash for the Redis and the in-memory delivery stores."""

from broadcasts.store import Batch


def test_batch_from_hash_reads_recipients_and_defaults_attempts():
    raw = {"lang": "en", "ep": "multicast", "to": "U1,U2", "key": "k-1", "state": "pending"}
    assert Batch.from_hash("t1:j", 3, raw) == Batch("t1:j", 3, "en", "multicast", ("U1", "U2"), "k-1", "pending", 0)
    assert Batch.from_hash("t1:j", 0, {**raw, "to": "", "attempts": "2"}).to == ()
    assert Batch.from_hash("t1:j", 0, {**raw, "attempts": "2"}).attempts == 2
