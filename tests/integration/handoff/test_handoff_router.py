"""The handoff room inside the lead's chat router (bot.router.Dispatcher): bot silent while held, back after."""

from __future__ import annotations

import handoff
from bot.chat import Incoming
from bot.router import Dispatcher, Rooms
from bot.users import MemoryUserStore
from handoff import HandoffDeps, HandoffRoom, RecordingLinePort, RedisHandoffBus, RedisHandoffStore
from handoff.testing import demo_tenants
from nlu.risk import RiskAssessment

TENANT = demo_tenants()["demo"]


def said(text: str, n: int = 0) -> Incoming:
    return Incoming(tenant=TENANT, user_id="U1", kind="text", webhook_event_id=f"e{n}", timestamp_ms=0, text=text, message_id=f"m{n}")


async def test_request_hold_and_hand_back_through_the_router(redis):
    deps = HandoffDeps(store=RedisHandoffStore(redis), bus=RedisHandoffBus(redis), line=RecordingLinePort())
    dispatcher = Dispatcher(MemoryUserStore(), Rooms(handoff=HandoffRoom(deps)))

    before = await dispatcher.process(said("こんにちは", 1))
    assert before  # the bot answers normally

    queued = await dispatcher.process(said("人と話したい", 2))
    assert "番目" in queued[0]["text"]
    cid = (await deps.store.open_for_user("demo", "U1")).id
    await handoff.take_over(deps, "demo", cid, "alice")

    assert await dispatcher.process(said("実は悩んでいて", 3)) == []  # held: the bot says nothing
    assert (await deps.store.transcript("demo", cid))[-1].text == "実は悩んでいて"

    await handoff.hand_back(deps, "demo", cid, "alice", "counsellor")
    after = await dispatcher.process(said("こんにちは", 4))
    assert after and after[0]["text"] == before[0]["text"]  # the bot is back


async def test_statistics_reach_the_kpi_store_as_the_lead_wires_it(redis):
    """bootstrap: HandoffDeps(..., kpi=ports.kpi) with BestEffortRecorder(RedisKpiRecorder(client))."""
    from kpi import recorder as R
    from kpi.recorder import BestEffortRecorder, RedisKpiRecorder

    store = RedisKpiRecorder(redis)
    deps = HandoffDeps(store=RedisHandoffStore(redis), bus=RedisHandoffBus(redis), line=RecordingLinePort(), kpi=BestEffortRecorder(store))
    dispatcher = Dispatcher(MemoryUserStore(), Rooms(handoff=HandoffRoom(deps)))
    await dispatcher.process(said("人と話したい", 1))
    await handoff.take_over(deps, "demo", (await deps.store.open_for_user("demo", "U1")).id, "alice")
    (day,) = await store.days("demo", [store.today()])
    assert (day.get(R.CONSULT_OPENED), day.get(R.CONSULT_OUTSIDE), day.get(R.CONSULT_TAKEN)) == (1, 0, 1)  # demo_tenants: always open
    assert day.breakdown(R.CONSULT_TAKEN) == {"general": 1} and sum(day.histogram(R.WAIT)) == 1


class _Crisis:
    """The crisis layer's shape (nlu.crisis_layer.CrisisLayer): assess (in its conversation), assess_text, the first reply."""

    def assess_text(self, text: str) -> RiskAssessment:
        if "死にたい" in text:
            return RiskAssessment("crisis", "suicide", "high", "ja", ("t",), 0.9)
        return RiskAssessment("none", None, None, "ja", (), 0.0)

    async def assess(self, incoming) -> RiskAssessment:
        return self.assess_text(incoming.text or "")

    @staticmethod
    def reply_language(assessment, profile_language):
        return profile_language

    def messages(self, assessment, tenant, language):
        return [{"type": "text", "text": "よりそいホットライン 0120-279-338"}]


async def test_a_waiting_resident_in_crisis_is_not_met_with_silence(redis):
    deps = HandoffDeps(store=RedisHandoffStore(redis), bus=RedisHandoffBus(redis), line=RecordingLinePort())
    dispatcher = Dispatcher(MemoryUserStore(), Rooms(handoff=HandoffRoom(deps), crisis=_Crisis()))
    await dispatcher.process(said("人と話したい", 1))  # queued, nobody has taken it yet
    out = await dispatcher.process(said("もう死にたい", 2))
    assert "0120-279-338" in "\n".join(m["text"] for m in out)
    (top,) = await deps.store.queue("demo")
    assert top.risk == "crisis"
    await handoff.take_over(deps, "demo", top.id, "alice")
    assert await dispatcher.process(said("やっぱり死にたい", 3)) == []  # held: the counsellor reads it and answers
