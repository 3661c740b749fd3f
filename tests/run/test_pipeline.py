"""The streamed pipeline on toy channels: allocation by rate, common weights, exact sharding, bounded chunks."""

from __future__ import annotations

import numpy as np
import pytest

from generator.channel import ChannelSpec
from generator.pipeline import iterate_chunks, plan_run
from tests.run.test_engine import Toy


def _specs():
    return [ChannelSpec(process=Toy(A=3.0), production="toy", final_hnl="a"),
            ChannelSpec(process=Toy(A=1.0, s=0.1), production="toy", final_hnl="b")]


KW = {"seed": 17, "n_adapt": 4, "evals_per_iter": 4000, "chunk_size": 700}


def _run(plan, tasks):
    return [b for out in iterate_chunks(plan, tasks) for b in out.blocks]


def test_total_events_shared_by_rate_with_one_common_weight():
    plan = plan_run(_specs(), n_events=3000, **KW)
    rates = np.array([c.integration.rate for c in plan.channels])
    counts = np.array([c.n_events for c in plan.channels])
    assert counts.sum() == 3000
    np.testing.assert_allclose(counts / 3000, rates / rates.sum(), atol=1 / 3000)
    blocks = _run(plan, plan.tasks)
    w = np.concatenate([b.weight for b in blocks])
    assert len(w) == 3000
    np.testing.assert_allclose(w, plan.total_rate / 3000, rtol=1e-15)
    assert w.sum() == pytest.approx(plan.total_rate, rel=1e-12)
    # chunks hold at most chunk_size events
    assert max(b.n_events for b in blocks) <= KW["chunk_size"]


def test_per_channel_mode_gives_each_channel_its_events_and_rate():
    plan = plan_run(_specs(), n_events=1000, allocation="per_channel", **KW)
    blocks = _run(plan, plan.tasks)
    for ch in plan.channels:
        mine = [b for b in blocks if b.channel == ch.name]
        assert sum(b.n_events for b in mine) == 1000
        assert sum(b.weight.sum() for b in mine) == pytest.approx(ch.integration.rate, rel=1e-12)


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("n_shards", [2, 3, 7])
def test_shards_concatenate_into_the_unsharded_run(weighted, n_shards):
    full_plan = plan_run(_specs(), n_events=2500, weighted=weighted, **KW)
    full = _run(full_plan, full_plan.tasks)
    parts = []
    for s in range(n_shards):
        plan = plan_run(_specs(), n_events=2500, weighted=weighted, **KW)  # each shard plans on its own
        parts.extend(_run(plan, plan.shard_tasks(s, n_shards)))
    assert len(parts) == len(full)
    for a, b in zip(parts, full, strict=True):
        assert a.channel == b.channel
        np.testing.assert_array_equal(a.p, b.p)
        np.testing.assert_array_equal(a.weight, b.weight)


def test_event_ids_are_unique_run_wide_and_shard_independent():
    plan = plan_run(_specs(), n_events=2500, **KW)
    ids = np.concatenate([b.info["event_id"] for b in _run(plan, plan.tasks)])
    np.testing.assert_array_equal(ids, np.arange(2500))
    part = plan_run(_specs(), n_events=2500, **KW)
    got = np.concatenate([b.info["event_id"] for b in _run(part, part.shard_tasks(1, 3))])
    lo = part.shard_tasks(1, 3)[0].first
    np.testing.assert_array_equal(got, np.arange(lo, lo + len(got)))
