"""Every method on the shared photos and paintings, equal to the CLI's output
byte for byte (the same library calls), progress callbacks that stop a run,
and the GIL released while painting."""
import os
import signal
import threading
import time

import numpy as np
import pytest

import atelier

SIZE = 160  # small: the suite's time budget is tight


@pytest.fixture
def photo(shared):
    return shared / "images" / "content" / "chicago.jpg"


@pytest.fixture
def painting(shared):
    return shared / "images" / "style" / "starry_night.jpg"


def same_png(tmp_path, picture, cli_output):
    ours = tmp_path / "python.png"
    atelier.save_image(picture, ours)
    assert ours.read_bytes() == cli_output.read_bytes()


def test_fast_style_equals_the_cli(tmp_path, cli, photo):
    cli("stylize", "-m", "candy", "-c", photo, "--size", SIZE, "-o", tmp_path / "cli.png")
    painted = atelier.stylize(photo, "candy", size=SIZE)
    assert painted.dtype == np.uint8 and max(painted.shape[:2]) == SIZE and painted.shape[2] == 3
    same_png(tmp_path, painted, tmp_path / "cli.png")
    # The class, an array and a finishing option: still the CLI's result.
    candy = atelier.FastStyle("candy")
    assert candy.architecture == "pytorch-examples"
    cli("stylize", "-m", "candy", "-c", photo, "--size", SIZE, "--strength", 0.5, "--original-colors",
        "-o", tmp_path / "cli_half.png")
    half = candy(atelier.load_image(photo), size=SIZE, strength=0.5, original_colors=True)
    same_png(tmp_path, half, tmp_path / "cli_half.png")


def test_a_photos_alpha_comes_through(photo):
    rgba = np.dstack([atelier.load_image(photo, max_pixels=0)[:64, :96], np.full((64, 96), 200, np.uint8)])
    painted = atelier.FastStyle("candy")(rgba)
    assert painted.shape == (64, 96, 4)
    np.testing.assert_array_equal(painted[:, :, 3], rgba[:, :, 3])


def test_magenta_equals_the_cli_and_reuses_its_vector(tmp_path, cli, photo, painting):
    cli("stylize", "--method", "magenta", "-c", photo, "-s", painting, "--size", SIZE, "-o", tmp_path / "cli.png")
    painted = atelier.stylize(photo, painting, size=SIZE)  # magenta: the default for a painting
    same_png(tmp_path, painted, tmp_path / "cli.png")
    # A vector predicted once paints the same, from memory or from its .json file.
    magenta = atelier.Magenta()
    starry = magenta.style_vector(painting)
    assert len(starry) == 100 and starry.values.dtype == np.float32
    np.testing.assert_array_equal(magenta(photo, starry, size=SIZE), painted)
    starry.save(tmp_path / "starry.json")
    np.testing.assert_array_equal(magenta(photo, str(tmp_path / "starry.json"), size=SIZE), painted)


def test_gatys_equals_the_cli(tmp_path, cli, photo, painting):
    cli("stylize", "--method", "gatys", "-c", photo, "-s", painting, "--size", 64, "-n", 4,
        "--style-weight", 1e4, "-o", tmp_path / "cli.png")
    steps = []
    painted = atelier.stylize(photo, painting, size=64, iterations=4, style_weight=1e4, progress=steps.append)
    same_png(tmp_path, painted, tmp_path / "cli.png")
    assert [s.iteration for s in steps] == [1, 2, 3, 4]
    assert steps[-1].loss < steps[0].loss


@pytest.mark.parametrize("answer", ["stop", False])
def test_a_callback_that_says_stop_ends_gatys_with_stopped(photo, painting, answer):
    seen = []

    def progress(step):
        seen.append(step.iteration)
        return answer if step.iteration == 2 else None

    with pytest.raises(atelier.Stopped, match="stopped at iteration 2 of scale 1") as stopped:
        atelier.Gatys()(photo, painting, size=48, iterations=50, progress=progress)
    assert seen == [1, 2]
    assert stopped.value.image.dtype == np.uint8 and max(stopped.value.image.shape[:2]) == 48  # the painting so far


def test_previews_come_every_few_iterations_and_can_stop(photo, painting):
    previews = []

    def preview(picture, step):
        previews.append((step.iteration, picture.shape))
        return "stop" if step.iteration == 4 else None

    with pytest.raises(atelier.Stopped):
        atelier.Gatys()(photo, painting, size=48, iterations=50, preview=preview, preview_every=2)
    assert [iteration for iteration, _ in previews] == [2, 4]
    assert previews[0][1][2] == 3 and max(previews[0][1][:2]) == 48


def test_ctrl_c_stops_gatys_with_keyboard_interrupt(photo, painting):
    """A notebook's interrupt button (SIGINT) ends a run that has no callback at all."""
    gatys = atelier.Gatys()
    timer = threading.Timer(1.0, os.kill, (os.getpid(), signal.SIGINT))
    started = time.monotonic()
    timer.start()
    with pytest.raises(KeyboardInterrupt):
        gatys(photo, painting, size=48, iterations=1000000)
    assert time.monotonic() - started < 30


def test_an_exception_in_the_callback_reaches_the_caller(photo, painting):
    def progress(step):
        raise ZeroDivisionError("from the callback")

    with pytest.raises(ZeroDivisionError, match="from the callback"):
        atelier.stylize(photo, painting, method="gatys", size=48, iterations=50, progress=progress)


def test_gatys_options_come_from_the_library(shared):
    gatys = atelier.Gatys()
    defaults = atelier.GatysOptions()
    assert defaults.iterations > 0 and defaults.optimizer == "lbfgs" and defaults.init == "content"
    assert gatys.default_options().content_layers  # filled in for this network
    with pytest.raises(TypeError, match="unknown option 'iterationz'"):
        gatys(np.zeros((32, 32, 3), np.uint8), np.zeros((32, 32, 3), np.uint8), iterationz=3)
    with pytest.raises(atelier.Error, match="style_weight: a finite number, 0 or more"):
        gatys(np.zeros((32, 32, 3), np.uint8), np.zeros((32, 32, 3), np.uint8), style_weight=-1)
    with pytest.raises(atelier.Error, match="--iterations must be at least 1"):  # the library's own check
        gatys(np.zeros((32, 32, 3), np.uint8), np.zeros((32, 32, 3), np.uint8), iterations=0)


def test_a_bad_path_raises_the_librarys_message(shared, tmp_path):
    with pytest.raises(atelier.Error, match=f"^cannot read {tmp_path}/missing.jpg: no such file$"):
        atelier.stylize(tmp_path / "missing.jpg", "candy")
    with pytest.raises(atelier.Error, match="adain/vgg_normalised"):
        atelier.AdaIN()


def test_painting_releases_the_gil(photo):
    candy = atelier.FastStyle("candy")
    picture = atelier.load_image(photo)  # 512 x 512: long enough to watch
    ticks = 0
    done = threading.Event()

    def paint():
        candy(picture)
        done.set()

    worker = threading.Thread(target=paint)
    worker.start()
    while not done.is_set():
        ticks += 1
        time.sleep(0.001)
    worker.join()
    assert ticks > 20  # this thread kept running while the other painted
