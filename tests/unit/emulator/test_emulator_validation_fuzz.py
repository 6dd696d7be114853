"""Whatever JSON a client sends, validation answers "valid" or a LINE-shaped 400 — never a crash (a 500)."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from emulator.validation import REQUEST_MODELS, Invalid, validate

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=20,
)
message_like = st.fixed_dictionaries(
    {"type": st.sampled_from(["text", "flex", "sticker", "image", "template", "bogus"])},
    optional={"text": json_values, "altText": json_values, "contents": json_values, "quickReply": json_values},
)
bodies = st.one_of(
    json_values,
    st.fixed_dictionaries(
        {"messages": st.lists(message_like, max_size=6)},
        optional={"to": json_values, "replyToken": json_values, "chatId": json_values, "loadingSeconds": json_values},
    ),
)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(endpoint=st.sampled_from(sorted(REQUEST_MODELS)), body=bodies)
def test_validate_never_crashes(endpoint, body):
    try:
        validate(endpoint, body)
    except Invalid as bad:
        shaped = bad.body()
        assert isinstance(shaped["message"], str)
        assert all(set(d) == {"message", "property"} for d in shaped.get("details", []))
    else:
        REQUEST_MODELS[endpoint].from_dict(body)  # whatever passes, the SDK can load
