# Runs Nova's generic driver tests against XcdDriver and prints one JSON summary line last.
# Owns: loading, running and summarising (ran, passed, declined, skipped, failures).
# Must not: decide pass/fail thresholds; the caller (test/integrations/nova.test.ts) does.
# Usage: /usr/bin/python3 run_virt_driver_tests.py [test_name ...]

import json
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import test_xcd_virt_driver as suite_module  # noqa: E402


def main(argv):
    loader = unittest.TestLoader()
    case = suite_module.XcdDriverTestCase
    if argv:
        suite = unittest.TestSuite(case(name) for name in argv)
    else:
        suite = loader.loadTestsFromTestCase(case)
    result = unittest.TextTestRunner(stream=sys.stderr, verbosity=2).run(suite)
    failed = {t.id().rsplit('.', 1)[-1]: tb for t, tb in result.failures + result.errors}
    skipped = {t.id().rsplit('.', 1)[-1]: why for t, why in result.skipped}
    declined = dict(suite_module.DECLINED)
    passed = result.testsRun - len(failed) - len(skipped) - len(declined)
    print(json.dumps({
        'ran': result.testsRun, 'passed': passed, 'declined': declined,
        'skipped': skipped, 'failed': failed,
    }))
    return 0 if not failed else 1


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
