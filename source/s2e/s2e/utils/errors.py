"""How every script ends on bad input: one line on stderr naming the problem and the fix, exit code 2.

Exit code 2 is what argparse uses for a bad command line, so a caller (a shell loop, a cluster job
array) can tell "fix the input" from a crash (1) or an interrupt (130).
"""

from __future__ import annotations

import sys
from typing import NoReturn

BAD_INPUT = 2
"""Exit code of a script stopped by bad input (a value, a missing or corrupt file)."""


def exit_bad_input(message: str, prefix: str = "error") -> NoReturn:
    """Print `<prefix>: <first line of message>` on stderr and exit with BAD_INPUT."""
    first = str(message).strip().splitlines()[0] if str(message).strip() else "bad input"
    print(f"{prefix}: {first}", file=sys.stderr)
    sys.exit(BAD_INPUT)
