"""Write the README's samples of each document to a folder (default: docs/samples).

    .venv/bin/python tests/documents_samples.py [FOLDER]

The documents are made from the test store (tests/documents_store.py: the example trust with
November 2026's incidents) and screenshotted with headless Chromium: the monthly report as
emailed, one school's continuity plan, the review of the safeguarding incident and the
provider scorecard, plus the plan and the review as Markdown.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from documents_store import (  # noqa: E402
    NOW,
    SAFEGUARDING_INCIDENT,
    build_store,
    documents_config,
    trust_config,
)

from monitor import plan, reports, review, scorecard  # noqa: E402
from monitor.pdf import html_to_png  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


async def write_samples(folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    with tempfile.TemporaryDirectory() as tmp:
        config = trust_config(Path(tmp))
        docs = documents_config()
        store = await build_store(f"sqlite:///{Path(tmp) / 'lifeline.db'}", config, hostile=False)
        try:
            month = await reports.build_monthly(config, docs, store, 2026, 11, NOW)
            school_plan = await plan.build_plan(config, docs, store, NOW, "hillcrest-academy")
            found = await review.build_review(config, store, SAFEGUARDING_INCIDENT, NOW)
            assert found is not None
            card = await scorecard.build_scorecard(config, store, NOW)
        finally:
            await store.close()
    shots = [
        ("report-2026-11.png", reports.render_html(month), 760, 1900),
        ("plan-hillcrest.png", plan.render_plan_html(school_plan), 900, 1500),
        ("review-safeguarding.png", review.render_review_html(found), 900, 1350),
        ("scorecard.png", scorecard.render_scorecard_html(card), 900, 1250),
    ]
    for name, html, width, height in shots:
        out = folder / name
        await html_to_png(html, out, width=width, height=height)
        written.append(out)
    for name, text in (
        ("plan-hillcrest.md", plan.render_plan_md(school_plan)),
        ("review-safeguarding.md", review.render_review_md(found)),
        ("report-2026-11.txt", reports.render_text(month)),
    ):
        out = folder / name
        out.write_text(text, encoding="utf-8")
        written.append(out)
    return written


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs" / "samples"
    for path in asyncio.run(write_samples(target)):
        print(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path)
