# Installs the driver with install.py into a scratch directory, runs Nova's generic driver tests
# and this driver's own against that installed copy, and prints one JSON summary line last.
# Owns: installing, loading, running and summarising (ran, passed, declined, skipped, failures).
# Must not: decide pass/fail thresholds; the caller (test/integrations/nova.test.ts) does.
# Usage: /usr/bin/python3 run_virt_driver_tests.py [test_name ...]   (Nova's or this driver's)

import json
import os
import shutil
import sys
import tempfile
import unittest

import scratch_install

# This driver's own tests (not Nova's), by module: what a build, hot-plug and placement turn into
# on the pool, and the OpenStack flows (Glance images, Neutron ports, resize).
OWN = {
    'test_xcd_virt_driver': ('XcdDriverSpawnShapeTestCase', [
        'test_spawn_maps_flavor_vifs_and_disks', 'test_update_provider_tree_inventory',
        'test_attach_detach_interface', 'test_attach_detach_pool_volume']),
    'test_xcd_openstack': ('XcdOpenStackTestCase', None),  # its OWN list
}


def main(argv):
    scratch = tempfile.mkdtemp(prefix='xcd-nova-')
    try:
        scratch_install.install(scratch)
        return run(argv)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def run(argv):
    import importlib
    import test_xcd_virt_driver as suite_module
    import xcd_nova
    loader = unittest.TestLoader()
    nova_case = suite_module.XcdDriverTestCase
    own_tests = []
    for module_name, (case_name, names) in OWN.items():
        module = importlib.import_module(module_name)
        case = getattr(module, case_name)
        own_tests += [case(name) for name in names or module.OWN]
    if argv:  # only the tests named, Nova's or this driver's
        own_tests = [t for t in own_tests if t.id().rsplit('.', 1)[-1] in argv]
        picked = {t.id().rsplit('.', 1)[-1] for t in own_tests}
        suite = unittest.TestSuite(nova_case(name) for name in argv if name not in picked)
    else:
        suite = loader.loadTestsFromTestCase(nova_case)
    suite.addTests(own_tests)
    own = [t.id().rsplit('.', 1)[-1] for t in own_tests]
    result = unittest.TextTestRunner(stream=sys.stderr, verbosity=2).run(suite)
    name = lambda t: t.id().rsplit('.', 1)[-1]  # noqa: E731
    failed = {name(t): tb for t, tb in result.failures + result.errors}
    skipped = {name(t): why for t, why in result.skipped}
    declined = dict(suite_module.DECLINED)
    ran = result.testsRun - len(own)  # Nova's own tests only
    passed = ran - len([f for f in failed if f not in own]) - len(skipped) - len(declined)
    print(json.dumps({
        'ran': ran, 'passed': passed, 'declined': declined, 'skipped': skipped,
        'failed': failed, 'own': own, 'driver_from': os.path.dirname(xcd_nova.__file__),
    }))
    return 0 if not failed else 1


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
