import pytest
from PIL import Image

from kit.errors import BadInput
from kit.images import image_size, load_image


def test_a_good_image_loads_as_rgb(tmp_path):
    path = tmp_path / "ok.png"
    Image.new("L", (32, 16), 128).save(path)
    image = load_image(path)
    assert image.mode == "RGB" and image.size == (32, 16)


def test_not_an_image(tmp_path):
    path = tmp_path / "notes.jpg"
    path.write_text("hello")
    with pytest.raises(BadInput, match="not a readable image"):
        load_image(path)


def test_truncated_image(tmp_path):
    path = tmp_path / "cut.jpg"
    Image.new("RGB", (256, 256), (200, 10, 10)).save(path, quality=95)
    path.write_bytes(path.read_bytes()[:400])
    with pytest.raises(BadInput, match="corrupt or truncated"):
        load_image(path)


def test_decompression_bomb_is_refused_from_the_header(tmp_path):
    path = tmp_path / "bomb.png"
    Image.new("1", (20_000, 20_000)).save(path)  # a tiny file that decodes to 400 megapixels
    assert path.stat().st_size < 1_000_000
    with pytest.raises(BadInput, match="decompression bomb|not a readable image"):
        image_size(path)


def test_missing_file():
    with pytest.raises(BadInput, match="not found"):
        load_image("/nonexistent/photo.jpg")
