from __future__ import annotations

from roost.files import env_file


def test_env_files_quote_what_systemd_and_compose_would_misread() -> None:
    text = env_file({"B": 'say "hi"', "A": "a\\b", "C": "line1\nline2", "D": "$HOME"})
    assert text == 'A="a\\\\b"\nB="say \\"hi\\""\nC="line1\\nline2"\nD="$HOME"\n'
