"""Training from Python: an AdaIN decoder trained a step at a time, stopped by
its callback and resumed, then painting as the CLI paints with it."""
import shutil

import pytest

import atelier


@pytest.fixture
def folders(shared, tmp_path):
    photos, paintings = tmp_path / "photos", tmp_path / "paintings"
    photos.mkdir()
    paintings.mkdir()
    for name in ("chicago.jpg", "amber.jpg"):
        shutil.copy(shared / "images" / "content" / name, photos)
    for name in ("starry_night.jpg", "the_scream.jpg"):
        shutil.copy(shared / "images" / "style" / name, paintings)
    return photos, paintings


def test_a_stopped_training_resumes_and_its_decoder_paints_as_the_cli(tmp_path, cli, shared, folders):
    photos, paintings = folders
    decoder = tmp_path / "decoder.safetensors"
    job = atelier.ArbitraryTrainingJob()
    job.content, job.styles, job.output = str(photos), str(paintings), str(decoder)
    job.encoder, job.steps, job.batch_size, job.image_size, job.preview_every = "vgg19", 2, 1, 32, 0
    seen = []

    def progress(step):
        seen.append((step["step"], step["steps"], sorted(step["losses"])))
        return "stop"

    with pytest.raises(atelier.Stopped, match="interrupted at step 1"):
        atelier.train_arbitrary(job, progress=progress)
    assert seen == [(1, 2, ["content", "loss", "style"])]
    assert not decoder.exists() and (tmp_path / "decoder.safetensors.checkpoint.safetensors").exists()
    assert atelier.train_arbitrary(job, resume=True) == {"output": str(decoder), "steps": 2}

    photo, painting = shared / "images" / "content" / "chicago.jpg", shared / "images" / "style" / "starry_night.jpg"
    cli("stylize", "--method", "adain", "--adain-encoder", "vgg19", "--adain-decoder", decoder, "-c", photo,
        "-s", painting, "--size", 64, "--strength", 0.7, "-o", tmp_path / "cli.png")
    adain = atelier.AdaIN(encoder="vgg19", decoder=decoder)
    assert adain.level == "relu3_1"
    atelier.save_image(adain(photo, painting, size=64, strength=0.7), tmp_path / "python.png")
    assert (tmp_path / "python.png").read_bytes() == (tmp_path / "cli.png").read_bytes()
