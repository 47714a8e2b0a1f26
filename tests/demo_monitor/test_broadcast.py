from demo_monitor.broadcast import Broadcaster


async def test_every_subscriber_gets_the_same_serialized_message_and_a_slow_one_loses_the_oldest():
    hub = Broadcaster(queue_size=2)
    fast, slow = hub.subscribe(), hub.subscribe()
    assert hub.subscribers == 2
    hub.publish("tick", {"t": 1})
    a, b = await fast.__anext__(), await slow.__anext__()
    assert a == b == {"event": "tick", "data": '{"t":1}'}
    assert a["data"] is b["data"]  # serialized once
    for t in (2, 3, 4):
        hub.publish("tick", {"t": t})
    assert (await slow.__anext__())["data"] == '{"t":3}'
    assert (await slow.__anext__())["data"] == '{"t":4}'
    fast.close()
    slow.close()
    assert hub.subscribers == 0
