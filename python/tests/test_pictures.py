"""Pictures in and out, finish(), and errors: no shared data needed."""
import os
import subprocess
import sys

import numpy as np
import pytest

import atelier


def gradient(height=24, width=32, channels=3):
    rng = np.random.default_rng(7)
    return rng.integers(0, 256, size=(height, width, channels), dtype=np.uint8)


def test_png_round_trip_keeps_every_value(tmp_path):
    picture = gradient()
    atelier.save_image(picture, tmp_path / "p.png")
    loaded = atelier.load_image(tmp_path / "p.png")
    assert loaded.dtype == np.uint8 and loaded.shape == (24, 32, 3)
    np.testing.assert_array_equal(loaded, picture)


def test_alpha_comes_back_as_a_fourth_channel(tmp_path):
    picture = gradient(channels=4)
    atelier.save_image(picture, str(tmp_path / "p.png"))
    np.testing.assert_array_equal(atelier.load_image(str(tmp_path / "p.png")), picture)


def test_float_and_uint8_pictures_are_the_same_picture(tmp_path):
    picture = gradient()
    atelier.save_image(picture, tmp_path / "a.png")
    atelier.save_image(picture.astype(np.float32) / 255, tmp_path / "b.png")
    atelier.save_image(picture.astype(np.float64) / 255, tmp_path / "c.png")
    data = (tmp_path / "a.png").read_bytes()
    assert (tmp_path / "b.png").read_bytes() == data
    assert (tmp_path / "c.png").read_bytes() == data


def test_grey_pictures_become_rgb():
    grey = gradient(channels=1)[:, :, 0]
    out = atelier.resize(grey, 32)
    assert out.shape == (24, 32, 3)
    np.testing.assert_array_equal(out[:, :, 0], grey)
    np.testing.assert_array_equal(out[:, :, 2], grey)


def test_pil_images_are_accepted():
    Image = pytest.importorskip("PIL.Image")
    picture = gradient()
    np.testing.assert_array_equal(atelier.resize(Image.fromarray(picture), 32), picture)
    palette = Image.fromarray(picture).convert("P")
    assert atelier.resize(palette, 16).shape == (12, 16, 3)


def test_float_values_outside_0_1_are_refused_in_one_line():
    with pytest.raises(atelier.Error, match=r"photo: float pictures take values in \[0,1\], this one has 0\.\.255"):
        atelier.finish(gradient(), gradient().astype(np.float32))


def test_shapes_and_types_are_checked():
    with pytest.raises(atelier.Error, match="H x W, H x W x 3 or H x W x 4 arrays, not 4 x 4 x 2"):
        atelier.resize(np.zeros((4, 4, 2), np.uint8), 8)
    with pytest.raises(atelier.Error, match="uint8, uint16 or float arrays, not int64"):
        atelier.resize(np.zeros((4, 4, 3), np.int64), 8)
    with pytest.raises(atelier.Error, match="expected a path, a numpy array or a PIL image, not dict"):
        atelier.resize({}, 8)


def test_a_bad_path_raises_the_librarys_message():
    with pytest.raises(atelier.Error) as raised:
        atelier.load_image("/no/such/photo.jpg")
    assert str(raised.value) == "cannot read /no/such/photo.jpg: no such file"
    assert isinstance(raised.value, RuntimeError)


def test_a_bad_output_leaves_no_file(tmp_path):
    with pytest.raises(atelier.Error, match=r'unknown image extension "\.gif"'):
        atelier.save_image(gradient(), tmp_path / "out.gif")
    assert list(tmp_path.iterdir()) == []


def test_finish_blends_with_the_photo_and_keeps_its_alpha():
    photo = gradient(channels=4)
    painted = np.zeros((24, 32, 3), np.uint8)
    np.testing.assert_array_equal(atelier.finish(painted, photo, strength=0), photo)
    half = atelier.finish(painted, photo, strength=0.5)
    assert half.shape == (24, 32, 4)
    np.testing.assert_array_equal(half[:, :, 3], photo[:, :, 3])
    assert abs(int(half[5, 5, 0]) - round(photo[5, 5, 0] / 2)) <= 1


def test_post_steps_are_the_clis():
    photo, painted = gradient(), gradient() // 4  # a darker painting
    matched = atelier.finish(painted, photo, post=["hist:content"])
    assert abs(matched.mean() - photo.mean()) < 2 < abs(painted.mean() - photo.mean())
    with pytest.raises(atelier.Error, match="wobble"):
        atelier.finish(painted, photo, post=["wobble"])
    with pytest.raises(atelier.Error, match="style"):
        atelier.finish(painted, photo, post=["hist:style"])  # no style picture given


def test_colour_steps_on_their_own_are_finishs():
    photo, painted = gradient(), gradient() // 4
    np.testing.assert_array_equal(atelier.match_histograms(painted, photo), atelier.finish(painted, photo, post=["hist:content"]))
    np.testing.assert_array_equal(atelier.transfer_colors(painted, photo), atelier.finish(painted, photo, post=["lab:content"]))
    np.testing.assert_array_equal(atelier.keep_original_colors(painted, photo), atelier.finish(painted, photo, original_colors=True))


def test_unknown_method_and_missing_networks_are_one_line_errors(tmp_path):
    with pytest.raises(atelier.Error, match='method: fast, gatys, magenta or adain, not "oil"'):
        atelier.stylize(gradient(), "x.jpg", method="oil")
    with pytest.raises(atelier.Error) as raised:
        atelier.FastStyle("no-such-style", models_dir=tmp_path)
    assert "no-such-style" in str(raised.value) and "\n" not in str(raised.value)


def test_python_torch_and_atelier_share_a_process():
    """Debian's python torch and the library's libtorch load side by side, in either order."""
    pytest.importorskip("torch")
    for first, second in (("torch", "atelier"), ("atelier", "torch")):
        code = f"import {first}, {second}, numpy; print(atelier.resize(numpy.zeros((8, 8, 3), numpy.uint8), 4).shape, torch.ones(2).sum().item())"
        result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=os.environ)
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == "(4, 4, 3) 2.0"


def test_training_settings_are_checked_before_any_work(tmp_path):
    with pytest.raises(TypeError, match="unknown training setting 'stepz'"):
        atelier.train_style(stepz=3)
    job = atelier.StyleTrainingJob()
    assert job.steps == 0 and job.batch_size > 0 and job.weights  # the library's defaults
    with pytest.raises(atelier.Error):
        atelier.train_style(job, style=str(tmp_path / "none.jpg"), data=str(tmp_path), output=str(tmp_path / "o.safetensors"), steps=1)
    assert list(tmp_path.iterdir()) == []
