# The config drive of a VM of the xcd driver: OpenNebula's context variables (the context file
# oned writes beside the deployment file, or the CONTEXT section) as the members of the service's
# spawn request that make it (metadata, user data).
# Must not: source or execute the context file (it is tokenised), or call the service.

import base64
import os
import shlex


def config_drive(context):
    """The spawn's config drive members for the context variables: every variable under
    meta_data.json's `meta`, SSH_PUBLIC_KEY as `public_keys`, SET_HOSTNAME as `hostname`, and
    USER_DATA (base64 when USERDATA_ENCODING says so) as the user data cloud-init reads."""
    metadata = {'meta': dict(context)}
    keys = [k.strip() for k in context.get('SSH_PUBLIC_KEY', '').splitlines() if k.strip()]
    if keys:
        metadata['public_keys'] = {'one-%d' % i: k for i, k in enumerate(keys)}
    if context.get('SET_HOSTNAME'):
        metadata['hostname'] = context['SET_HOSTNAME']
    members = {'metadata': metadata}
    user_data = context.get('USER_DATA')
    if user_data:
        if context.get('USERDATA_ENCODING', '').lower() == 'base64':
            raw = base64.b64decode(user_data, validate=True)
        else:
            raw = user_data.encode('utf-8')
        members['user_data'] = base64.b64encode(raw).decode('ascii')
    return members


def context_of(vm, dfile):
    """The config drive's metadata at deploy: the context file oned wrote beside the deployment
    file, else the CONTEXT section."""
    return context_at(vm, os.path.join(os.path.dirname(dfile), 'context.sh') if dfile else None)


def context_at(vm, path):
    """The context variables: the context file at `path` oned wrote (`KEY='value'` lines,
    every variable resolved, ETH*_ included), else the VM's CONTEXT section; None without
    either. The file is tokenised, never sourced."""
    if path and os.path.isfile(path):
        with open(path, 'r', encoding='utf-8') as fh:
            lexer = shlex.shlex(fh.read(), posix=True)
        lexer.whitespace_split = True
        lexer.commenters = '#'
        values = {}
        for token in lexer:
            key, sep, value = token.partition('=')
            if sep and key:
                values[key] = value
        return values
    context = vm.find('TEMPLATE/CONTEXT') if vm is not None else None
    if context is None:
        return None
    return {child.tag: (child.text or '') for child in context}
