"""A delivery job's spec as stored in Redis: the audience round-trips, record_as / replay_of included."""

from __future__ import annotations

import json

from broadcasts.audience import AudienceQuery
from broadcasts.jobs import DeliveryJob
from broadcasts.store import job_from_json, job_to_json


def _job(audience: AudienceQuery) -> DeliveryJob:
    return DeliveryJob(tenant="t", audience=audience, messages={"ja": [{"type": "text", "text": "x"}]}, source_id="s1")


def test_the_audience_round_trips_with_its_named_fields():
    for audience in (
        AudienceQuery("t", area_codes=("2710400",), categories=("earthquake_3",), record_as="jma:k:g", ignore_quiet_hours=True),
        AudienceQuery("t", replay_of="jma:k:g", ignore_quiet_hours=True),
        AudienceQuery("t", center=(34.7, 135.5), radius_m=500.0, languages=("en",)),
    ):
        job = _job(audience)
        assert job_from_json(job_to_json(job)) == job


def test_a_job_stored_with_the_former_tagged_categories_reads_into_the_fields():
    """Queued across an upgrade: an alert whose audience carried ``@record:`` must still record its people."""
    legacy = json.loads(job_to_json(_job(AudienceQuery("t", area_codes=("2710400",)))))
    legacy["audience"].pop("record_as"), legacy["audience"].pop("replay_of")
    legacy["audience"]["categories"] = ["earthquake_3", "@record:jma:k:g"]
    got = job_from_json(json.dumps(legacy)).audience
    assert (got.categories, got.record_as, got.replay_of) == (("earthquake_3",), "jma:k:g", "")
    legacy["audience"]["categories"] = ["@recipients:jma:k:g"]
    got = job_from_json(json.dumps(legacy)).audience
    assert (got.categories, got.record_as, got.replay_of) == ((), "", "jma:k:g")
