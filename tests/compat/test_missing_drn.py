"""``missing_drn``: mmaction2 1.2.0's wheel lacks ``mmaction/models/localizers/drn``."""
import sys

import pytest


def test_the_pinned_mmaction2_still_lacks_drn(run_python):
    """Fails the day mmaction2 ships the drn package: then remove compat/missing_drn.py."""
    result = run_python('import umt_mm', disable='missing_drn')
    assert result.returncode != 0, (
        'mmaction2 now imports without the placeholder: remove umt_mm/compat/missing_drn.py')
    assert "No module named 'mmaction.models.localizers.drn'" in result.stderr


def test_with_the_fix_mmaction_models_import_and_drn_explains_itself():
    import mmaction.models  # noqa: F401

    from umt_mm import compat
    assert compat.apply_all()['missing_drn'] is True
    drn = sys.modules['mmaction.models.localizers.drn.drn']
    assert drn.DRN.__module__ == 'umt_mm.compat.missing_drn'
    with pytest.raises(ImportError, match='not included in the mmaction2 1.2.0 wheel'):
        drn.DRN()
