"""The documentation stays true to the code and inside the repository."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def test_every_link_points_at_a_file_in_the_repository() -> None:
    for page in PAGES:
        for target in re.findall(r"\]\(([^)#\s]+)", page.read_text()):
            if target.startswith(("http://", "https://")):
                continue
            resolved = (page.parent / target).resolve()
            assert resolved.is_relative_to(ROOT), f"{page.name} links outside: {target}"
            assert resolved.exists(), f"{page.name} links to a missing {target}"


def test_nothing_points_outside_the_repository() -> None:
    for page in PAGES:
        assert "../shared" not in page.read_text(), page.name


def test_the_tutorials_game_is_the_one_the_tests_play() -> None:
    tutorial = (ROOT / "docs" / "writing-a-game.md").read_text()
    whole = tutorial.split("## 7. The whole game", 1)[1].split("```python\n", 1)[1]
    whole = whole.split("```", 1)[0]
    tested = (ROOT / "tests" / "e2e" / "test_game_interface.py").read_text()
    assert whole in tested, "docs/writing-a-game.md's Tally differs from the tested one"
