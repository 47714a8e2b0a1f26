import asyncio

from demo_monitor.broadcast import Broadcaster


async def test_every_subscriber_gets_the_same_serialized_message_and_a_slow_one_loses_the_oldest():
    hub = Broadcaster(queue_size=2)
    fast, slow = hub.subscribe(), hub.subscribe()
    first_fast = asyncio.ensure_future(fast.__anext__())
    first_slow = asyncio.ensure_future(slow.__anext__())
    await asyncio.sleep(0)
    assert hub.subscribers == 2
    hub.publish("tick", {"t": 1})
    a, b = await first_fast, await first_slow
    assert a == b == {"event": "tick", "data": '{"t":1}'}
    assert a["data"] is b["data"]  # serialized once
    for t in (2, 3, 4):
        hub.publish("tick", {"t": t})
    assert (await slow.__anext__())["data"] == '{"t":3}'
    assert (await slow.__anext__())["data"] == '{"t":4}'
    await fast.aclose()
    await slow.aclose()
    assert hub.subscribers == 0
