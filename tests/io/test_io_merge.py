"""File-level merge of shard outputs (generator.io.merge): two halves merged equal the whole run.

The halves carry the global ``event_id`` of their events, as the pipeline's shards do. Checks: ROOT arrays equal
value by value (read back with uproot), HepMC3 files byte-identical (plain and gzip), the merged HepMC3 file read
back with pyhepmc (a different reader than the text copy that wrote it).
"""

from __future__ import annotations

import gzip
import json

import awkward as ak
import numpy as np
import pyhepmc
import pytest
import uproot

from generator.errors import DataFileError
from generator.io import RootWriter, write_hepmc, write_root
from generator.io.merge import merge_hepmc, merge_root
from tests.io.test_io_synthetic import MASSES, make_run


@pytest.fixture(scope="module")
def halves():
    """(whole, first half, second half) lists of blocks, with global event_id, and the run_info."""
    blocks, run_info = make_run(seed=5)
    run_info["hnl_mass_GeV"] = {f"N{j}": m for j, m in MASSES.items()}
    start = 0
    for b in blocks:
        b.info["event_id"] = np.arange(start, start + b.n_events, dtype=np.int64)
        start += b.n_events
    b1 = blocks[1]
    first = [blocks[0], b1.select(np.arange(20))]
    second = [b1.select(np.arange(20, b1.n_events)), blocks[2]]
    return blocks, first, second, run_info


def test_merge_root_equals_whole(halves, tmp_path):
    whole, first, second, run_info = halves
    ref = write_root(tmp_path / "whole.root", whole, run_info)
    shards = [write_root(tmp_path / f"s{i}.root", part, run_info, chunk_size=17) for i, part in enumerate((first,
                                                                                                           second))]
    w = RootWriter(tmp_path / "merged.root", run_info)
    merge_root(shards, w, step_size=23)  # read steps cut across shard and block boundaries
    w.close(run_info)
    with uproot.open(ref) as a, uproot.open(tmp_path / "merged.root") as b:
        ea, eb = a["events"].arrays(), b["events"].arrays()
        assert ea.fields == eb.fields and len(eb) == 115
        for name in ea.fields:
            np.testing.assert_array_equal(ak.to_numpy(ak.ravel(ea[name])), ak.to_numpy(ak.ravel(eb[name])), name)
        np.testing.assert_array_equal(eb["event_id"], np.arange(115))
        ra, rb = a["run"].arrays(), b["run"].arrays()
        for name in ra.fields:
            np.testing.assert_array_equal(ak.to_numpy(ak.ravel(ra[name])), ak.to_numpy(ak.ravel(rb[name])), name)
        assert json.loads(str(a["metadata_json"])) == json.loads(str(b["metadata_json"]))


@pytest.mark.parametrize("gz", [False, True])
def test_merge_hepmc_equals_whole(halves, tmp_path, gz):
    whole, first, second, run_info = halves
    ext = ".hepmc3.gz" if gz else ".hepmc3"
    ref = write_hepmc(tmp_path / f"whole{ext}", whole, run_info, gzip=gz)
    shards = [write_hepmc(tmp_path / f"s{i}{ext}", part, run_info, gzip=gz) for i, part in enumerate((first, second))]
    merged = merge_hepmc(shards, tmp_path / f"merged{ext}", run_info)
    read = gzip.open if gz else open
    with read(ref, "rb") as a, read(merged, "rb") as b:
        assert a.read() == b.read()
    with pyhepmc.open(merged) as f:
        numbers = [evt.event_number for evt in f]
    assert numbers == list(range(115))


def test_merge_hepmc_rejects_truncated_shard(halves, tmp_path):
    whole, _, _, run_info = halves
    path = write_hepmc(tmp_path / "s.hepmc3", whole, run_info)
    text = path.read_text()
    path.write_text(text[: text.index("HepMC::Asciiv3-END_EVENT_LISTING")])
    with pytest.raises(DataFileError, match="truncated"):
        merge_hepmc([path], tmp_path / "m.hepmc3", run_info)
