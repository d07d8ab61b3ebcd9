from agent.spool import Spool


def test_spool_keeps_order_and_survives_reopen(tmp_path):
    s = Spool(tmp_path, max_batches=10)
    for i in range(3):
        s.put(f"b{i}", f"payload{i}".encode(), float(i), 1)
    s.close()
    s = Spool(tmp_path, max_batches=10)
    assert [bid for bid, _ in s.oldest(10)] == ["b0", "b1", "b2"]
    s.remove("b1")
    assert [bid for bid, _ in s.oldest(10)] == ["b0", "b2"]
    assert len(s) == 2


def test_full_spool_drops_oldest_and_counts_it(tmp_path):
    s = Spool(tmp_path, max_batches=3)
    dropped = [s.put(f"b{i}", b"x", float(i), 1) for i in range(5)]
    assert dropped == [0, 0, 0, 1, 1]
    assert [bid for bid, _ in s.oldest(10)] == ["b2", "b3", "b4"]
    assert s.dropped == 2
    s.close()
    assert Spool(tmp_path, max_batches=3).dropped == 2  # the loss count is persistent too


def test_same_batch_id_is_stored_once(tmp_path):
    s = Spool(tmp_path)
    s.put("b", b"1", 0.0, 1)
    s.put("b", b"2", 0.0, 1)
    assert len(s) == 1
