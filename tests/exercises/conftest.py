from __future__ import annotations

import pytest

from dlplay.exercises import sandbox
from tests.conftest import _may_install


@pytest.fixture
def sandboxed():
    """Learner code runs only in the sandbox: without bubblewrap, these tests fail where setup.sh could
    have installed it (root or sudo), and are skipped with the reason elsewhere."""
    if (why := sandbox.available()) is not None:
        if _may_install():
            pytest.fail(f"the sandbox must work here (scripts/setup.sh installs bubblewrap): {why}")
        pytest.skip(f"learner code can't be sandboxed here: {why}")


needs_sandbox = pytest.mark.usefixtures("sandboxed")
