"""Movies of a run (sim.movie, ``mutualaid run --movie``): the frames are the dashboard's pictures of
the very run, the files read back, the title tells what was run, bad options stop before the run."""

from __future__ import annotations

import io
import json

import imageio.v2 as iio2
import imageio.v3 as iio
import numpy as np
import pytest

from tests.test_cli import forbid_runs, old_results, run_cli
from sim.core.scenarios import load_scenario, parse_override
from sim.draw import lattice_image, network_image, network_positions
from sim.engines import make_model
from sim import movie
from sim.movie import Layout, movie_bytes, movie_days, record_frames, title_lines, write_movie

LATTICE = {"network.width": 12, "network.height": 12, "steps": 20}
NETWORK = {"population.size": 60, "steps": 10}


@pytest.fixture(scope="module")
def lattice_sc():
    return load_scenario("kropotkin", LATTICE)


@pytest.fixture(scope="module")
def network_sc():
    return load_scenario("baseline", NETWORK)


@pytest.fixture(scope="module")
def lattice_frames(lattice_sc):
    return list(record_frames(lattice_sc, changed={"game.T": 1.9}, every=6))


def model_at(sc, day, engine="agents"):
    """The scenario rerun to ``day`` (on the Mesa engine: the frames come from the kernel)."""
    m = make_model(sc, engine)
    for _ in range(day):
        m.step()
    return m


def region(frame, pic):
    x, y = Layout(frame.shape[1::-1]).origin(pic.size)
    return frame[y:y + pic.height, x:x + pic.width]


# ----------------------------------------------------------------------------- frames


def test_days_shown_are_day_0_every_n_and_the_last_day_and_at_most_600():
    assert movie_days(20, 6) == [0, 6, 12, 18, 20]
    assert movie_days(18, 6) == [0, 6, 12, 18]
    assert movie_days(0, 5) == [0]
    long = movie_days(5000, 1)
    assert len(long) <= movie.MAX_FRAMES and long[0] == 0 and long[-1] == 5000
    assert len(set(np.diff(long[:-1]))) == 1 and long[1] == 9   # every raised to the smallest that fits
    assert movie.default_every(365) == 2 and movie.default_every(100) == 1


def test_lattice_frames_are_the_pictures_of_the_run(lattice_sc, lattice_frames):
    assert len(lattice_frames) == 5                              # days 0, 6, 12, 18, 20
    for f in lattice_frames:
        assert f.shape == (720, 1280, 3) and f.dtype == np.uint8
    side = Layout().side
    pics = []
    for i, day in ((0, 0), (2, 12), (4, 20)):
        pic = lattice_image(model_at(lattice_sc, day).state_arrays(), 12, 12, target=side)
        assert pic.width == pic.height == side // 12 * 12       # drawn at full size, not rescaled
        np.testing.assert_array_equal(region(lattice_frames[i], pic), np.asarray(pic))
        pics.append(np.asarray(pic))
    assert not np.array_equal(pics[0], pics[-1])                # the community changed: the test can fail


def test_network_frames_are_the_pictures_of_the_run(network_sc):
    frames = list(record_frames(network_sc, every=4, size=(1920, 1080)))
    assert len(frames) == 4 and frames[0].shape == (1080, 1920, 3)   # days 0, 4, 8, 10
    side = Layout((1920, 1080)).side
    for i, day in ((1, 4), (3, 10)):
        m = model_at(network_sc, day)
        pos = network_positions(m.graph, network_sc.seed)
        pic = network_image(m.state_arrays(), m.tie_arrays(), pos, size_px=side)
        np.testing.assert_array_equal(region(frames[i], pic), np.asarray(pic))
    assert not np.array_equal(frames[1], frames[3])


def test_title_names_scenario_seed_changed_settings_and_day(lattice_sc, lattice_frames):
    name, details, when = title_lines("kropotkin", 42, {"checkins.enabled": False, "game.T": 1.9}, 12, 365)
    assert name == "kropotkin" and when == "day 12 of 365"
    assert "seed 42" in details and "checkins.enabled=false, game.T=1.9" in details
    assert "as in the scenario file" in title_lines("baseline", 7, {}, 0, 30)[1]
    bar = Layout().title_h
    top = lattice_frames[0][:bar].reshape(-1, 3)
    text = np.any(top != movie.TITLE_BG, axis=1).mean()
    assert 0.01 < text < 0.5                                     # text on the bar, not a blank bar
    # other settings in the title change the bar only; another day changes the bar's day too
    other = next(iter(record_frames(lattice_sc, changed={"game.T": 1.5}, until=0)))
    assert not np.array_equal(other[:bar], lattice_frames[0][:bar])
    np.testing.assert_array_equal(other[bar:], lattice_frames[0][bar:])
    assert not np.array_equal(lattice_frames[0][:bar], lattice_frames[1][:bar])


@pytest.mark.parametrize("engine", ["kernel", "agents"])
def test_readout_numbers_are_the_metrics_table(network_sc, engine):
    m = model_at(network_sc, 10, engine)
    latest, relapses = movie.latest_metrics(m)
    df = m.metrics_frame()
    assert relapses == df["relapses"].sum() > 0
    assert latest["helpers"] == df["helpers"].iloc[-1] and latest["using"] == df["using"].iloc[-1]
    text = movie.readout_text(latest, relapses, 60)
    assert f"helpers {100 * latest['helpers']:.0f}%" in text
    assert f"relapses so far {100 * relapses / 60:.1f} per 100 members" in text


# ----------------------------------------------------------------------------- files


def test_gif_round_trip(lattice_frames):
    data = write_movie(lattice_frames, "gif", fps=5)
    back = iio.imread(io.BytesIO(data), index=None, extension=".gif")
    assert back.shape[:3] == (5, 720, 1280)
    meta = iio.immeta(io.BytesIO(data), extension=".gif")
    assert meta.get("loop") == 0 and meta.get("duration") == 200
    err = np.abs(back[..., :3].astype(int) - np.stack(lattice_frames).astype(int))
    assert err.mean() < 0.5 and err.max() <= 16                  # one palette of the picture's colours


def test_mp4_round_trip(lattice_frames, tmp_path):
    path = write_movie(lattice_frames, tmp_path / "run.mp4", fps=5)
    assert path == tmp_path / "run.mp4"
    reader = iio2.get_reader(path, format="FFMPEG")
    try:
        meta = reader.get_meta_data()
        assert meta["fps"] == 5 and meta["size"] == (1280, 720) and meta["codec"] == "h264"
        assert "yuv420p" in meta["pix_fmt"]
        assert reader.count_frames() == 5
        last = reader.get_data(4)
    finally:
        reader.close()
    assert np.abs(last.astype(int) - lattice_frames[4].astype(int)).mean() < 3


def test_the_same_call_gives_the_same_gif_bytes(network_sc):
    a = movie_bytes(network_sc, "gif", until=4, every=2)
    b = movie_bytes(network_sc, "gif", until=4, every=2)
    assert a == b and a[:6] == b"GIF89a"
    assert a != movie_bytes(network_sc.model_copy(update={"seed": 1}), "gif", until=4, every=2)


def test_bad_movie_arguments_are_refused(lattice_sc):
    from sim.core.scenarios import ScenarioError

    for kwargs in ({"every": 0}, {"until": 21}, {"size": (1281, 720)}, {"size": (720, 720)}):
        with pytest.raises(ScenarioError):
            record_frames(lattice_sc, **kwargs)
    with pytest.raises(ScenarioError, match="gif or .mp4"):
        write_movie([], "x.avi")
    with pytest.raises(ScenarioError, match="fps"):
        write_movie([], "gif", fps=0)


# ----------------------------------------------------------------------------- the CLI


@pytest.fixture
def tiny_yaml(tmp_path):
    p = tmp_path / "tiny.yaml"
    p.write_text("name: tiny\ndescription: a small test community\nseed: 5\nsteps: 6\n"
                 "population:\n  size: 60\n", encoding="utf-8")
    return p


def test_cli_movie_goes_in_the_run_folder_and_manifest_and_shows_that_run(tmp_path, tiny_yaml, capsys):
    out = tmp_path / "out"
    sets = ["--set", "checkins.enabled=false", "--set", "game.T=1.3"]
    rc, stdout, err = run_cli(capsys, "run", tiny_yaml, "--out", out, "--movie", "x.gif", "--movie-every", "2",
                              "--movie-fps", "4", *sets)
    assert rc == 0, err
    man = json.loads((out / "manifest.json").read_text())
    assert "x.gif" in man["files"] and sorted(p.name for p in out.iterdir()) == sorted(man["files"])
    assert man["movie"]["frames"] == 4 and man["movie"]["every_days"] == 2
    assert man["movie"]["changed"] == {"checkins.enabled": False, "game.T": 1.3}
    lines = [ln for ln in stdout.splitlines() if ln.startswith("movie:")]
    assert len(lines) == 1 and str(out / "x.gif") in lines[0]
    # the same run as its metrics: the film of the same scenario, overrides and seed, bit for bit
    sc = load_scenario(tiny_yaml, [s for s in sets if s != "--set"])
    changed = dict(parse_override(s) for s in sets if s != "--set")
    assert (out / "x.gif").read_bytes() == movie_bytes(sc, "gif", changed=changed, every=2, fps=4)


def test_cli_bare_movie_flag_writes_movie_mp4_in_the_run_folder(tmp_path, tiny_yaml, capsys):
    """CONTRACT.md lists `run ... [--movie]` as a flag: without a file name the movie is movie.mp4."""
    out = tmp_path / "out"
    rc, _, err = run_cli(capsys, "run", tiny_yaml, "--out", out, "--movie", "--quiet")
    assert rc == 0, err
    man = json.loads((out / "manifest.json").read_text())
    assert "movie.mp4" in man["files"] and (out / "movie.mp4").read_bytes()[4:8] == b"ftyp"


def test_cli_movie_at_an_absolute_path_is_written_there(tmp_path, tiny_yaml, capsys):
    target = tmp_path / "films" / "run.mp4"
    target.parent.mkdir()
    rc, _, err = run_cli(capsys, "run", tiny_yaml, "--out", tmp_path / "out", "--movie", target, "--quiet")
    assert rc == 0, err
    man = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert man["movie"]["file"] == str(target) and "run.mp4" not in man["files"]
    assert target.stat().st_size > 1000 and man["movie"]["frames"] == 7
    assert [p.name for p in target.parent.iterdir()] == ["run.mp4"]   # no staging file left


def test_cli_movie_is_never_written_into_another_commands_folder(tmp_path, tiny_yaml, capsys, monkeypatch):
    """``--movie /abs/path`` into another run's folder overwrote its movie, and into a lesson's or sweep's
    folder added a file (the review of issue 26 found it): refused in one line, the folder untouched."""
    forbid_runs(monkeypatch)
    other = old_results(tmp_path, manifest=True)  # an earlier run's folder (its manifest says run)
    (other / "sub").mkdir()
    for target in (other / "movie.gif", other / "sub" / "m.mp4"):
        rc, _, err = run_cli(capsys, "run", tiny_yaml, "--out", tmp_path / "new", "--movie", target)
        assert rc == 2 and len(err.strip().splitlines()) == 1 and "holds a run's results" in err, err
    assert sorted(p.name for p in other.iterdir()) == ["manifest.json", "metrics.csv", "sub"]
    assert not (tmp_path / "new").exists()


@pytest.mark.parametrize("extra, fragments", [
    (["--movie", "x.avi"], ["--movie x.avi", ".gif or .mp4"]),
    (["--movie", "x.gif", "--movie-every", "0"], ["--movie-every", "0"]),
    (["--movie", "x.gif", "--movie-fps", "-1"], ["--movie-fps", "-1"]),
    (["--movie", "x.mp4", "--movie-fps", "nan"], ["--movie-fps", "nan"]),
    (["--movie-fps", "5"], ["--movie-fps", "needs --movie"]),
    (["--movie", "sub/x.gif"], ["--movie sub/x.gif", "file name"]),
    (["--movie", "/no/such/folder/x.gif"], ["--movie", "does not exist"]),
    (["--movie", "x.gif", "--movie-size", "4k"], ["--movie-size", "4k"]),
], ids=["suffix", "every-0", "fps-negative", "fps-nan", "fps-without-movie", "relative-folder", "no-folder",
        "size"])
def test_cli_bad_movie_options_exit_2_before_the_run(tmp_path, tiny_yaml, capsys, monkeypatch, extra, fragments):
    forbid_runs(monkeypatch)
    out = old_results(tmp_path, manifest=True)
    rc, stdout, err = run_cli(capsys, "run", tiny_yaml, "--out", out, *extra)
    assert rc == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("mutualaid: error: ") and "Traceback" not in err, err
    for f in fragments:
        assert f in lines[0], (f, lines[0])
    assert sorted(p.name for p in out.iterdir()) == ["manifest.json", "metrics.csv"]
    assert (out / "metrics.csv").read_text() == "old results\n"


def test_a_movie_of_the_first_days_is_titled_with_the_run_s_length(monkeypatch):
    """A movie made on day 4 of a 365-day run said "day 4 of 4"; it says "day 4 of 365"."""
    import sim.movie as movie

    seen = []
    real = movie.title_lines

    def spy(name, seed, changed, day, days):
        seen.append((day, days))
        return real(name, seed, changed, day, days)

    monkeypatch.setattr(movie, "title_lines", spy)
    movie.movie_bytes("kropotkin", "gif", until=4, every=2, size=(320, 180))
    assert seen and all(days == 365 for _, days in seen), seen
    assert [d for d, _ in seen][-1] == 4
