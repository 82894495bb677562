# nova.conf options of the xcd driver, group [xcd]: where the service is, how to reach it, and
# the choices the driver makes (image import, snapshot format, networks, console).
# Owns: option definitions and their registration on Nova's CONF. Must not: read files or
# open connections (the driver does that at init_host / first use).

from oslo_config import cfg

xcd_group = cfg.OptGroup('xcd', title='xen-compute-driver options', help="""
Options of the xen-compute-driver Nova driver (compute_driver = xcd.XcdDriver), which forwards
every call to the xen-compute-driver REST service in front of a Xen/XAPI pool.
""")

xcd_opts = [
    cfg.URIOpt('url', schemes=['http', 'https'],
               sample_default='https://xcd.example.org:8080',
               help='Base URL of the xen-compute-driver service.'),
    cfg.StrOpt('token_file', sample_default='/etc/nova/xcd.token',
               help='File holding the bearer token (first line): an admin-role token '
                    'of the namespace this compute service owns (the driver reads '
                    '/v1/host and the VNC console, which the service gives to admins only).'),
    cfg.StrOpt('ca_file', help='CA bundle to verify the service certificate with '
                               '(default: the system trust store).'),
    cfg.BoolOpt('verify', default=True,
                help='Verify the service certificate. Turn off only for tests.'),
    cfg.IntOpt('request_timeout', default=30, min=1,
               help='Seconds a single HTTP request to the service may take.'),
    cfg.IntOpt('operation_timeout', default=900, min=1,
               help='Seconds a spawn, destroy or power action may take before it fails.'),
    cfg.StrOpt('default_template',
               help='Template (uuid or name_label) to clone when the image matches no '
                    'template by id or name and is not a VDI.'),
    cfg.BoolOpt('images_are_vdis', default=False,
                help='Treat a Glance image id as the uuid of a VDI already imported into '
                     'the pool, and copy it as the root disk.'),
    cfg.StrOpt('default_network',
               help='Network (uuid, name_label or bridge) for a VIF whose Neutron bridge '
                    'or network matches no pool network.'),
    cfg.StrOpt('sr', help='SR uuid for instance disks (default: the pool default SR).'),
    cfg.StrOpt('vnc_host', help='Address nova-novncproxy reaches the console at '
                                '(default: the host address the service reports).'),
    cfg.StrOpt('vnc_console_type', default='tunnel', choices=['tunnel', 'xapi'],
               help='The console answer get_vnc_console asks the service for: tunnel (a '
                    'single-use CONNECT path on the service itself, no XAPI session leaves '
                    'it) or xapi (the CONNECT path to the XAPI host, carrying a session).'),
    cfg.BoolOpt('glance_import', default=True,
                help='Import a Glance image that matches no pool template into the service '
                     '(streamed from Glance once; later spawns clone the service\'s copy).'),
    cfg.StrOpt('snapshot_disk_format', default='vhd', choices=['vhd', 'qcow2', 'raw'],
               help='Disk format of the root disk a snapshot uploads into Glance.'),
    cfg.BoolOpt('keep_snapshots', default=False,
                help='Keep the pool snapshot behind a Glance snapshot once its disk is '
                     'uploaded (default: delete it).'),
    cfg.BoolOpt('vlan_networks', default=True,
                help='Put a VIF whose Neutron binding gives a VLAN segmentation id on the '
                     'service\'s network for that VLAN (the service\'s --vlan-pif-device) '
                     'instead of a pool network matched by bridge.'),
]


def register_opts(conf):
    conf.register_group(xcd_group)
    conf.register_opts(xcd_opts, group=xcd_group)


def list_opts():
    return {xcd_group: xcd_opts}
