# Installs the driver with install.py into scratch directories, then loads it the way nova-compute
# does: nova.conf parsed by Nova's CONF, `compute_driver = xcd.XcdDriver`, Nova's own
# load_compute_driver, init_host against the service. Prints one JSON line; exit 0 when loaded.
# Must not: write into the system's Nova (the scratch nova/virt dir joins nova.virt's path).
# Usage: /usr/bin/python3 check_install.py <scratch dir>   (env: XCD_URL, XCD_TOKEN)

import json
import os
import sys

import scratch_install


def main(scratch):
    virt = scratch_install.install(scratch)[1]
    token_file = os.path.join(scratch, 'xcd.token')
    with open(token_file, 'w', encoding='utf-8') as fh:
        fh.write(os.environ['XCD_TOKEN'] + '\n')
    conf_file = os.path.join(scratch, 'nova.conf')
    with open(conf_file, 'w', encoding='utf-8') as fh:
        fh.write('[DEFAULT]\ncompute_driver = xcd.XcdDriver\n\n[xcd]\nurl = %s\n'
                 'token_file = %s\nverify = true\n' % (os.environ['XCD_URL'], token_file))

    import nova.conf
    from nova.virt import driver
    from nova.virt import fake
    nova.conf.CONF(['--config-file', conf_file], project='nova')
    loaded = driver.load_compute_driver(fake.FakeVirtAPI())
    loaded.init_host('compute-1')
    print(json.dumps({
        'class': '%s.%s' % (type(loaded).__module__, type(loaded).__name__),
        'from': os.path.dirname(sys.modules[type(loaded).__module__].__file__),
        'nodes': loaded.get_available_nodes(),
        'shim': sorted(os.listdir(os.path.join(virt, 'xcd'))),
        'client': sys.modules['xcd_nova.xcd_rest'].__file__,
    }))
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1]))
