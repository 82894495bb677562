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


# This driver's own tests that need a service capability (XCD_CAPS, comma-separated).
OWN_NEEDS = [('test_attach_detach_interface', 'nics'),
             ('test_attach_detach_pool_volume', 'volumes')]


def main(argv):
    loader = unittest.TestLoader()
    nova_case = suite_module.XcdDriverTestCase
    own_case = suite_module.XcdDriverSpawnShapeTestCase
    caps = set(os.environ.get('XCD_CAPS', '').split(','))
    own = [] if argv else ['test_spawn_maps_flavor_vifs_and_disks',
                           'test_update_provider_tree_inventory'] + [
        test for test, cap in OWN_NEEDS if cap in caps]
    if argv:
        suite = unittest.TestSuite(nova_case(name) for name in argv)
    else:
        suite = loader.loadTestsFromTestCase(nova_case)
        suite.addTests(own_case(name) for name in own)
    result = unittest.TextTestRunner(stream=sys.stderr, verbosity=2).run(suite)
    name = lambda t: t.id().rsplit('.', 1)[-1]  # noqa: E731
    failed = {name(t): tb for t, tb in result.failures + result.errors}
    skipped = {name(t): why for t, why in result.skipped}
    declined = dict(suite_module.DECLINED)
    ran = result.testsRun - len(own)  # Nova's own tests only
    passed = ran - len([f for f in failed if f not in own]) - len(skipped) - len(declined)
    print(json.dumps({
        'ran': ran, 'passed': passed, 'declined': declined, 'skipped': skipped,
        'failed': failed, 'own': own,
    }))
    return 0 if not failed else 1


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
