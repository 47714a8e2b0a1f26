from demo_monitor.store import Store, migrations


async def test_migrations_are_numbered_and_applied_once(tmp_path):
    path = str(tmp_path / "m.db")
    store = await Store.open(path)
    assert [n for n, _ in migrations()] == list(range(1, len(migrations()) + 1))
    assert await store.migrate() == len(migrations())
    mode = await store._one("PRAGMA journal_mode")
    assert mode[0] == "wal"
    await store.close()
    again = await Store.open(path)  # reopening does not re-run 0001 (it would fail on CREATE TABLE)
    assert len(await again.list_rules()) == 4
    await again.close()


async def test_memory_database_is_a_temporary_file_removed_on_close():
    store = await Store.open(":memory:")
    tmpdir = store._tmpdir
    import os

    assert os.path.isdir(tmpdir)
    await store.close()
    assert not os.path.exists(tmpdir)


async def test_connect_states_are_single_use_and_expire(tmp_path):
    store = await Store.open(str(tmp_path / "s.db"))
    await store.add_connect_state("tok", now=1000.0)
    assert await store.consume_connect_state("tok", now=1001.0) is True
    assert await store.consume_connect_state("tok", now=1002.0) is False
    await store.add_connect_state("old", now=1000.0)
    assert await store.consume_connect_state("old", now=1000.0 + 3601) is False
    await store.close()


async def test_reads_do_not_wait_for_the_write_lock_and_see_every_write_answered(tmp_path):
    import asyncio

    store = await Store.open(str(tmp_path / "r.db"))
    await store.set_meta("k", "before")
    async with store._tx() as db:  # a write under way holds the write lock
        await db.execute("UPDATE meta SET value = 'during' WHERE key = 'k'")
        assert await asyncio.wait_for(store.get_meta("k"), 5) == "before"  # not waiting, the last commit
    assert await store.get_meta("k") == "during"
    for n in range(50):  # each read after a write's answer sees it, with reads running at once
        await store.set_meta("n", str(n))
        assert await asyncio.gather(*(store.get_meta("n") for _ in range(8))) == [str(n)] * 8
    await store.close()
