"""report.html: self-contained, every figure embedded, and every image loads in a real browser."""

import base64
import re
import shutil
import subprocess
from html.parser import HTMLParser

import pytest

from perceptron_lab.experiment import load_results
from perceptron_lab.report import build_report, plot_run

from .checks import assert_image


class Resources(HTMLParser):
    """Collects the <title>, every <img src> and every other src/href of a page."""

    def __init__(self):
        super().__init__()
        self.images, self.links, self.title, self._in_title = [], [], "", False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "img":
            self.images.append(attrs["src"])
        elif "src" in attrs or "href" in attrs:
            self.links.append(attrs.get("src") or attrs.get("href"))
        self._in_title = tag == "title"

    def handle_data(self, data):
        if self._in_title:
            self.title += data

    def handle_endtag(self, tag):
        self._in_title = False


def parse(html_path):
    parser = Resources()
    parser.feed(html_path.read_text(encoding="utf-8"))
    return parser


RUN_FIGURES = sorted(
    [f"curve_{m}.png" for m in ("loss", "accuracy", "precision", "recall", "f1", "sse")]
    + ["decision_regions.png"]
    + ["confusion_test.png", "classwise_test.png", "roc_pr.png", "hyperplane_frames.png", "hyperplane.gif"]
)


@pytest.fixture(scope="module")
def binary_report(binary_run, tmp_path_factory):
    return build_report([binary_run], out_dir=tmp_path_factory.mktemp("binary_report"))


@pytest.fixture(scope="module")
def sweep_report(sweep_2d, tmp_path_factory):
    return build_report([sweep_2d], out_dir=tmp_path_factory.mktemp("sweep_report"))


def test_plot_run_writes_into_the_run_plots_folder(regression_run, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(regression_run, run)
    paths = plot_run(run)
    assert sorted(p.name for p in paths) == sorted(
        f"curve_{m}.png" for m in ("loss", "mse", "sse", "mae", "r2")
    )
    assert {p.parent for p in paths} == {run / "plots"}
    for path in paths:
        assert_image(path)


def test_run_report_embeds_every_figure(binary_report, binary_run):
    page = parse(binary_report)
    assert page.title == "blobs_binary"
    files = sorted(p for p in binary_report.parent.iterdir() if p.suffix in (".png", ".gif"))
    assert [f.name for f in files] == RUN_FIGURES
    for path in files:
        if path.suffix == ".png":
            assert_image(path)
    assert len(page.images) == len(files)
    embedded = {base64.b64decode(src.split(",", 1)[1]) for src in page.images}
    assert embedded == {f.read_bytes() for f in files}
    assert sorted(src.split(";")[0] for src in page.images) == ["data:image/gif"] + ["data:image/png"] * 11
    assert all(link.startswith("#") for link in page.links)  # nothing outside the page
    text = binary_report.read_text()
    assert not re.search(r"(?:src|href)\s*=\s*[\"']?(?:https?:)?//", text) and "@import" not in text
    summary = load_results(binary_run).summary
    mean = summary[
        (summary["run"] == "mean") & (summary["split"] == "validation") & (summary["kind"] == "final")
    ]
    assert f"{mean['accuracy'].iloc[0]:.4g} ± " in text  # the final metrics table
    assert "wall_time_s" in text and "stopped_epoch" in text  # the per-replica table


def test_default_report_folder_svg_and_metric_filter(regression_run, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(regression_run, run)
    html = build_report([run], fmt="svg", metric="r2")
    assert html == run / "report" / "report.html"
    assert sorted(p.name for p in html.parent.iterdir()) == ["curve_r2.svg", "figures.json", "report.html"]
    (src,) = parse(html).images
    assert src.startswith("data:image/svg+xml;base64,")
    assert base64.b64decode(src.split(",", 1)[1]) == (html.parent / "curve_r2.svg").read_bytes()


def test_unknown_metric_or_split_names_the_valid_ones(binary_run, tmp_path):
    from perceptron_lab.errors import UserError

    with pytest.raises(
        UserError, match="unknown metric 'mse'; choose from loss, accuracy, precision, recall, f1, sse"
    ):
        build_report([binary_run], out_dir=tmp_path, metric="mse")
    with pytest.raises(
        UserError, match="unknown split 'test_noise_0.3'; choose from train, validation, test"
    ):
        build_report([binary_run], out_dir=tmp_path, split="test_noise_0.3")


def test_sweep_report(sweep_report):
    page = parse(sweep_report)
    names = sorted(p.name for p in sweep_report.parent.glob("*.png"))
    assert "sweep_heatmap_test_accuracy.png" in names and "compare_test_accuracy.png" in names
    assert "best_curve_accuracy.png" in names
    assert len(page.images) == len(names)
    text = sweep_report.read_text()
    assert "optimizer.learning_rate-0.1__batch_size-16" in text and "ValueError: bad point" in text
    assert "complete: 6 of 6 points finished" in text


BROWSER_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--virtual-time-budget=10000",
]
COUNT_IMAGES = """<script>
window.addEventListener("load", () => {
  const images = Array.from(document.images);
  const loaded = images.filter((img) => img.complete && img.naturalWidth > 0 && img.naturalHeight > 0);
  document.title = `loaded ${loaded.length} of ${images.length}`;
});
</script></body>"""


@pytest.mark.browser
def test_every_image_loads_in_headless_chromium(chromium, binary_report, sweep_report, tmp_path):
    for html in (binary_report, sweep_report):
        expected = len(parse(html).images)
        probe = html.with_name("probe.html")
        probe.write_text(html.read_text(encoding="utf-8").replace("</body>", COUNT_IMAGES), encoding="utf-8")
        result = subprocess.run(
            [
                chromium,
                *BROWSER_FLAGS,
                f"--user-data-dir={tmp_path / 'profile'}",
                "--dump-dom",
                probe.as_uri(),
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )
        title = re.search(r"<title>(.*?)</title>", result.stdout)
        assert title is not None, result.stderr[-2000:]
        assert title.group(1) == f"loaded {expected} of {expected}"
        assert expected >= 10
