// GENERATED FILE, do not edit. Generated from openapi/compute-driver.yaml by
// `npm run gen:openapi` (scripts/gen-openapi.ts, openapi-typescript).
// Owns the TypeScript face of the REST contract; must not hold any hand-written type.

export interface paths {
    "/v1/host": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * The pool's identity and resources (admin)
         * @description What Nova's `get_available_resource`, CloudStack's host report and OpenNebula's
         *     SYSTEM_HOST/MONITOR_HOST probes need, summed over the pool's live hosts, with a
         *     per-host breakdown. Answered from the mirror.
         */
        get: operations["getHost"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/hosts/{host}/actions": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The host's uuid, name_label or hostname. */
                host: string;
            };
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Maintenance of one host of the pool (admin)
         * @description The body is tagged by `action`, run as an operation (`Prefer: wait=N` as for instances):
         *     - `disable`: no new instance starts or lands on the host (`host.disable`); its running
         *       instances stay.
         *     - `enable`: the host takes instances again (`host.enable`).
         *     - `evacuate`: disable, then live-migrate every running instance to other hosts of the
         *       pool (`host.evacuate`); a failure enables the host again if it was enabled before.
         *     - `reboot` / `shutdown`: evacuate, then `host.reboot` / `host.shutdown`; a rebooted host
         *       comes back enabled; rebooting the master restarts XAPI, which the service rides
         *       out as any XAPI restart (`/readyz` is not ready until it has reloaded).
         *     - `power-on`: `host.power_on` of a host that is down, through its power-on mode (none
         *       configured answers `409 operation_not_allowed`).
         *     One action runs on a host at a time. The operation's `host_id` names the host and its
         *     `result` is the host as `GET /v1/host` lists it. An unknown host answers
         *     `404 host_not_found`; instances that no other host can take fail the operation with
         *     `no_host_available` or `insufficient_memory`.
         */
        post: operations["hostAction"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/templates": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** VM templates a spawn can clone */
        get: operations["listTemplates"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/networks": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Networks a NIC can join
         * @description Every network of the pool; those the service made (VLAN networks made on demand by a
         *     NIC's `vlan`, or by `PUT /v1/networks/{name}`) carry `managed: true` and their `vlan`.
         */
        get: operations["listNetworks"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/networks/{name}": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The network's name_label. */
                name: string;
            };
            cookie?: never;
        };
        get?: never;
        /**
         * Make a pool-wide VLAN network (admin, idempotent)
         * @description Makes a network named `name` carrying `vlan` on the service's VLAN device of every host
         *     (`network.create`, then `pool.create_VLAN`), tagged as the service's (`managed: true`).
         *     Answers `201` with the network; when the service's network of that name already carries
         *     that VLAN, `200` with it. The VLAN must be within the service's VLAN range
         *     (`422 vlan_not_allowed`); a VLAN tag already carried by a network the service did not
         *     make answers `409 vlan_in_use`, and an existing network of that name that is not the
         *     service's network for that VLAN `409 network_exists`. A failure leaves nothing behind.
         */
        put: operations["createNetwork"];
        post?: never;
        /**
         * Remove a VLAN network the service made (admin)
         * @description Removes the service's network `name` once no NIC is on it: its VLAN on every host
         *     (`VLAN.destroy`, which takes the VLAN PIFs with it), then the network. A NIC still on it
         *     answers `409 network_in_use` (with `vifs`, how many); a network the service did not make
         *     `409 operation_not_allowed`; no network of that name `404 network_not_found`. Makes and
         *     removals of one VLAN tag run one at a time, so a NIC asking for the VLAN meanwhile gets
         *     a network made again afterwards.
         */
        delete: operations["deleteNetwork"];
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/srs": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Storage repositories disks can live on */
        get: operations["listSrs"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/instances": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * The caller's instances, paged
         * @description Ordered by instance id. Answered from the mirror.
         */
        get: operations["listInstances"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/instances/{instance_id}": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /**
                 * @description The orchestrator's id for the instance (Nova's instance uuid, CloudStack's
                 *     `i-<acct>-<vm>-VM`, OpenNebula's VM id). Unique within a namespace.
                 */
                instance_id: components["parameters"]["InstanceId"];
            };
            cookie?: never;
        };
        /**
         * One instance (Nova's get_info)
         * @description Answered from the mirror, without a XAPI round trip.
         */
        get: operations["getInstance"];
        /**
         * Spawn an instance under the orchestrator's id (idempotent)
         * @description Builds the VM as a list of undoable steps (clone the template or copy the image,
         *     provision, set vCPUs and memory, resize or create disks, config drive, VIFs, tag, start).
         *     A failure at any step leaves nothing behind.
         *
         *     Idempotent by `instance_id`: repeating the call with the same body answers the same
         *     operation (`200` when it has finished, `202` while it runs); a different body for an
         *     existing id answers `409 conflict_spawn_mismatch`. A finished spawn's operation
         *     `result` is the Instance.
         */
        put: operations["spawnInstance"];
        post?: never;
        /**
         * Destroy an instance and, unless kept, its disks
         * @description Succeeds when the instance is already gone: `204` with no body (Nova's destroy contract).
         *     Otherwise the destroy runs as an operation.
         */
        delete: operations["destroyInstance"];
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/instances/{instance_id}/actions": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /**
                 * @description The orchestrator's id for the instance (Nova's instance uuid, CloudStack's
                 *     `i-<acct>-<vm>-VM`, OpenNebula's VM id). Unique within a namespace.
                 */
                instance_id: components["parameters"]["InstanceId"];
            };
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Run a power action on an instance
         * @description The body is tagged by `action`. `reboot`: `soft` asks the guest and falls back to `hard`
         *     after `timeout` seconds; `hard` resets. `power-off`: `clean` asks the guest and falls
         *     back to `hard` after `timeout` seconds (Nova's `power_off(timeout>0)`); `hard` stops at
         *     once (`timeout=0`). `power-on` starts a halted instance (resumes a suspended one, unpauses
         *     a paused one).
         */
        post: operations["instanceAction"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/instances/{instance_id}/operations": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /**
                 * @description The orchestrator's id for the instance (Nova's instance uuid, CloudStack's
                 *     `i-<acct>-<vm>-VM`, OpenNebula's VM id). Unique within a namespace.
                 */
                instance_id: components["parameters"]["InstanceId"];
            };
            cookie?: never;
        };
        /**
         * The instance's operations, newest first
         * @description The operations the service keeps for the instance (its history, bounded per namespace
         *     and in time), newest first; `status=running` gives the ones under way (to follow or
         *     cancel, as Nova's live_migration_abort cancels a migration). An instance that neither
         *     exists nor has any kept operation answers `404 instance_not_found`.
         */
        get: operations["listInstanceOperations"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/operations/{operation_id}": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                operation_id: string;
            };
            cookie?: never;
        };
        /**
         * An operation's status and progress
         * @description With `Prefer: wait=N`, answers once the operation is final or N seconds passed.
         */
        get: operations["getOperation"];
        put?: never;
        post?: never;
        /**
         * Cancel a running operation
         * @description Cancels the XAPI task and undoes the steps done so far. Answers the operation (status
         *     `cancelled`, or the final status it reached first). An operation already final answers
         *     `409 operation_finished`.
         */
        delete: operations["cancelOperation"];
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/instances/{instance_id}/snapshots": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /**
                 * @description The orchestrator's id for the instance (Nova's instance uuid, CloudStack's
                 *     `i-<acct>-<vm>-VM`, OpenNebula's VM id). Unique within a namespace.
                 */
                instance_id: components["parameters"]["InstanceId"];
            };
            cookie?: never;
        };
        /**
         * The instance's snapshots, oldest first
         * @description Answered from the mirror.
         */
        get: operations["listSnapshots"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/instances/{instance_id}/snapshots/{snapshot_id}": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /**
                 * @description The orchestrator's id for the instance (Nova's instance uuid, CloudStack's
                 *     `i-<acct>-<vm>-VM`, OpenNebula's VM id). Unique within a namespace.
                 */
                instance_id: components["parameters"]["InstanceId"];
                /** @description The orchestrator's id for the snapshot (Nova's image id, CloudStack's snapshot uuid ...). Unique within an instance. */
                snapshot_id: components["parameters"]["SnapshotId"];
            };
            cookie?: never;
        };
        /** One snapshot */
        get: operations["getSnapshot"];
        /**
         * Snapshot the instance under the orchestrator's snapshot id (idempotent)
         * @description `memory: false` (default) takes a disk-only snapshot (`VM.snapshot`, any power state);
         *     `memory: true` takes a checkpoint with the memory image (`VM.checkpoint`, running
         *     instances only), which a revert brings back suspended. The id is the orchestrator's and
         *     is kept in XAPI (`other_config.xcd_snapshot_id`); repeating the call with an existing id
         *     answers the snapshot's instance at once (`200`), without a second snapshot. An instance
         *     with a persistent disk (an image attached with `persistent`) answers
         *     `409 operation_not_allowed` until that disk is detached.
         */
        put: operations["createSnapshot"];
        post?: never;
        /**
         * Delete a snapshot and the disks only it uses
         * @description Destroys the snapshot VM, its snapshot VDIs that nothing else uses and a checkpoint's
         *     memory image. A snapshot already gone answers `204`.
         */
        delete: operations["deleteSnapshot"];
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/instances/{instance_id}/snapshots/{snapshot_id}/revert": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /**
                 * @description The orchestrator's id for the instance (Nova's instance uuid, CloudStack's
                 *     `i-<acct>-<vm>-VM`, OpenNebula's VM id). Unique within a namespace.
                 */
                instance_id: components["parameters"]["InstanceId"];
                /** @description The orchestrator's id for the snapshot (Nova's image id, CloudStack's snapshot uuid ...). Unique within an instance. */
                snapshot_id: components["parameters"]["SnapshotId"];
            };
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Revert the instance to a snapshot
         * @description `VM.revert`: the instance's disks are replaced by clones of the snapshot's, its vCPUs and
         *     memory restored. A disk-only snapshot leaves the instance halted, a checkpoint leaves it
         *     suspended; `power_on: true` then starts (or resumes) it. An instance with a persistent
         *     disk answers `409 operation_not_allowed` (the revert would destroy the disks it replaces,
         *     the image among them) until that disk is detached.
         */
        post: operations["revertSnapshot"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/instances/{instance_id}/volumes": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /**
                 * @description The orchestrator's id for the instance (Nova's instance uuid, CloudStack's
                 *     `i-<acct>-<vm>-VM`, OpenNebula's VM id). Unique within a namespace.
                 */
                instance_id: components["parameters"]["InstanceId"];
            };
            cookie?: never;
        };
        /**
         * Volumes attached to the instance
         * @description VDIs attached by uuid and iSCSI LUNs attached by connection (not the disks the spawn made), each with the `volume_id` it was attached by. Answered from the mirror.
         */
        get: operations["listVolumes"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/instances/{instance_id}/volumes/{volume_id}": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /**
                 * @description The orchestrator's id for the instance (Nova's instance uuid, CloudStack's
                 *     `i-<acct>-<vm>-VM`, OpenNebula's VM id). Unique within a namespace.
                 */
                instance_id: components["parameters"]["InstanceId"];
                /**
                 * @description With a `connection`: the orchestrator's id of the volume (Cinder's volume id), which
                 *     names the attachment from then on. Without one: the uuid of an existing VDI.
                 */
                volume_id: components["schemas"]["VolumeId"];
            };
            cookie?: never;
        };
        get?: never;
        /**
         * Attach a volume (an existing VDI, or an iSCSI LUN by connection), hot when running
         * @description Creates a VBD at `device` (default: the lowest free position) and plugs it when the
         *     instance runs (Nova's attach_volume). Attaching a volume already attached to this
         *     instance answers the instance at once (`200`). The VDI is never destroyed by the
         *     service: destroying the instance or detaching leaves it in place.
         *
         *     **By connection** (`connection.driver_volume_type` `iscsi`, Cinder's `connection_info`
         *     as it is): the service introduces an SR of type `iscsi` (one VDI per LUN) for the
         *     target (`target_portal` and `target_iqn`), or reuses the one it introduced already,
         *     creates and plugs a PBD on every live host, scans the SR, finds the VDI of
         *     `target_lun` and attaches it. Any failure undoes every step: the SR, PBDs and VBD are
         *     gone again. Errors: `iscsi_target_unreachable`, `iscsi_target_not_found`,
         *     `iscsi_login_failed`, `iscsi_lun_not_found`, `volume_in_use` (the LUN is attached to
         *     another instance). The CHAP password is handed to XAPI's storage manager in the PBDs'
         *     `device_config` only; no answer, operation record or log line carries it.
         *
         *     A caller may attach (and grow, with a resize) a plain user disk of its own namespace (its
         *     instances' disks, disks kept by `keep_disks`), or an untagged plain disk that no other VM
         *     holds on an SR the operator configured as a volume source (none by default). Never a disk
         *     of a VM outside the namespace, a snapshot's disk, a suspend image or a system disk: those
         *     answer `404 volume_not_found`, exactly as an unknown uuid does. A disk another of the
         *     namespace's instances holds attaches only while that instance is halted (a rescue
         *     instance reading a stopped instance's root disk; XAPI then refuses to start the halted
         *     one until the disk is detached); while it runs, `409 disk_in_use`.
         */
        put: operations["attachVolume"];
        post?: never;
        /**
         * Detach a volume (hot when running); the VDI stays
         * @description A volume not attached to the instance answers `204`. A volume attached by connection is
         *     found by its `volume_id`; once no VBD uses its SR any more, the SR's PBDs are unplugged
         *     and destroyed and the SR is forgotten (the LUN's data is never touched).
         */
        delete: operations["detachVolume"];
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/instances/{instance_id}/disks/{device}": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /**
                 * @description The orchestrator's id for the instance (Nova's instance uuid, CloudStack's
                 *     `i-<acct>-<vm>-VM`, OpenNebula's VM id). Unique within a namespace.
                 */
                instance_id: components["parameters"]["InstanceId"];
                /** @description The VBD's device position. */
                device: components["schemas"]["DeviceNumber"];
            };
            cookie?: never;
        };
        get?: never;
        /**
         * Add a disk the instance owns at a device (hot when running; idempotent)
         * @description Makes a new VDI on `sr` (default: the pool's default SR): blank of `size_gb`, or with
         *     `image` a clone of one of the caller's images (or a public one), whose base is copied
         *     onto that SR once and shared (copy-on-write), grown to `size_gb` when asked. The disk is
         *     tagged as the instance's (`xcd_role=disk`) before it is attached at `device`, plugged
         *     when the instance runs. The disk is the instance's: destroying the instance destroys it,
         *     and `DELETE` detaches and destroys it. Repeating the call when the device already holds
         *     the instance's own disk of that size (and image) answers the instance at once (`200`); a
         *     device holding anything else answers `409 device_in_use`. A blank disk larger than the
         *     SR's free space answers `507 insufficient_storage`; an SR that does not exist or cannot
         *     hold disks (ISO libraries, removable media) `404 sr_not_found`; an image the caller may
         *     not use `404 image_not_found`, one still importing `409 image_busy`, one that is an
         *     instance's persistent disk `409 image_in_use`, a `size_gb` below the image's size
         *     `422 disk_smaller_than_image`. A failure at any step leaves nothing behind.
         *
         *     With `image` and `persistent: true` no VDI is made: the image's own base (its copy in
         *     `sr`; without `sr`, its only copy: an image with copies in several SRs answers
         *     `400 invalid_request`) is attached as it is, claimed by this instance
         *     (`xcd_image_user`). Only the caller's own image (another namespace's public image
         *     answers `403 forbidden`), no `size_gb` (`400 invalid_request`), one instance at a time
         *     (`409 image_in_use`). From the claim on, the image's `checksum` is empty (its bytes
         *     change) and the image is neither cloned, exported, published nor deleted
         *     (`409 image_in_use`). `DELETE` of the disk, and destroying the instance (with or without
         *     `keep_disks`), detach it and release the claim: the base stays the image, with the
         *     bytes the instance wrote. Reconcile releases the claim of an instance that no longer
         *     exists.
         */
        put: operations["addDisk"];
        post?: never;
        /**
         * Detach a disk the instance owns and destroy it (hot when running)
         * @description A persistent disk (an image's base, the root disk of a `persistent_image` spawn too) is
         *     detached and released, never destroyed: it stays the image. Otherwise only a data disk the instance owns (added here or by the spawn's `disks`): a volume
         *     answers `409 operation_not_allowed` (detach it through `/volumes`, it stays), and so do
         *     the root disk and the config drive. The disk's snapshots (`.../snapshots`) are destroyed
         *     with it. A disk an interrupted add or remove left unattached
         *     for the device is destroyed too. A device without a disk (and no such leftover) answers
         *     `204`.
         */
        delete: operations["removeDisk"];
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/instances/{instance_id}/config-drive": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /**
                 * @description The orchestrator's id for the instance (Nova's instance uuid, CloudStack's
                 *     `i-<acct>-<vm>-VM`, OpenNebula's VM id). Unique within a namespace.
                 */
                instance_id: components["parameters"]["InstanceId"];
            };
            cookie?: never;
        };
        get?: never;
        /**
         * Rebuild the instance's config drive with new user data and metadata
         * @description The ISO is built again as a spawn builds it (`openstack/latest/meta_data.json` with the
         *     instance's uuid, name and hostname under `metadata`, `user_data`, and
         *     `network_data.json` from the instance's NICs as they are now, in device order), written
         *     into a new VDI on the SR of the drive it replaces (`/import_raw_vdi`), and put in the
         *     CD drive with `VBD.eject` and `VBD.insert`; the former VDI is then destroyed. A halted
         *     instance reads it at its next start. A running one gets it as a media change in its CD
         *     drive, which XAPI allows while the guest runs: cloud-init and the like read it at the
         *     next boot (or when asked to look again); nothing is restarted. An instance without a
         *     config drive gets one at the lowest free device while halted; while running that
         *     answers `409 invalid_power_state` (a CD drive is not hot-plugged). Paused and suspended
         *     instances answer `409 invalid_power_state`. A failure at any step leaves the former
         *     drive in place and nothing else behind.
         */
        put: operations["updateConfigDrive"];
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/instances/{instance_id}/disks/{device}/snapshots": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /**
                 * @description The orchestrator's id for the instance (Nova's instance uuid, CloudStack's
                 *     `i-<acct>-<vm>-VM`, OpenNebula's VM id). Unique within a namespace.
                 */
                instance_id: components["parameters"]["InstanceId"];
                /** @description The disk's VBD device position. */
                device: components["parameters"]["DiskDevice"];
            };
            cookie?: never;
        };
        /**
         * The snapshots of the instance's disk at a device, oldest first (one second's by id)
         * @description Answered from the mirror: the snapshots taken of the disk at `device` (and kept across a
         *     revert of that disk). A device without snapshots answers an empty list.
         */
        get: operations["listDiskSnapshots"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/instances/{instance_id}/disks/{device}/snapshots/{snapshot_id}": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /**
                 * @description The orchestrator's id for the instance (Nova's instance uuid, CloudStack's
                 *     `i-<acct>-<vm>-VM`, OpenNebula's VM id). Unique within a namespace.
                 */
                instance_id: components["parameters"]["InstanceId"];
                /** @description The disk's VBD device position. */
                device: components["parameters"]["DiskDevice"];
                /** @description The orchestrator's id for the snapshot (Nova's image id, CloudStack's snapshot uuid ...). Unique within an instance. */
                snapshot_id: components["parameters"]["SnapshotId"];
            };
            cookie?: never;
        };
        get?: never;
        /**
         * Snapshot one disk of the instance under the orchestrator's id (idempotent)
         * @description `VDI.snapshot` of the disk at `device` alone, in any power state (a running guest's disk
         *     is snapshotted crash-consistent). Only a disk the instance owns: its root disk or a data
         *     disk (the spawn's `disks`, or one added with `PUT .../disks/{device}`); a volume, the
         *     config drive or an empty device answer `409 operation_not_allowed`. The snapshot VDI is
         *     tagged with the instance, the device and the id (`other_config.xcd_disk_snapshot_id`);
         *     ids are per device. Repeating the call with an existing id answers at once (`200`)
         *     without a second snapshot. The snapshots are the instance's: removing the disk or
         *     destroying the instance destroys them (a destroy with `keep_disks` keeps the disks, not
         *     their snapshots: the next reconcile removes those); they are not whole-instance
         *     snapshots and never appear under `/snapshots`. A failure leaves nothing behind.
         */
        put: operations["createDiskSnapshot"];
        post?: never;
        /**
         * Delete a disk snapshot
         * @description `VDI.destroy` of the snapshot VDI (with any VDI an interrupted create of this id left).
         *     A snapshot already gone answers `204`.
         */
        delete: operations["deleteDiskSnapshot"];
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/instances/{instance_id}/disks/{device}/snapshots/{snapshot_id}/revert": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /**
                 * @description The orchestrator's id for the instance (Nova's instance uuid, CloudStack's
                 *     `i-<acct>-<vm>-VM`, OpenNebula's VM id). Unique within a namespace.
                 */
                instance_id: components["parameters"]["InstanceId"];
                /** @description The disk's VBD device position. */
                device: components["parameters"]["DiskDevice"];
                /** @description The orchestrator's id for the snapshot (Nova's image id, CloudStack's snapshot uuid ...). Unique within an instance. */
                snapshot_id: components["parameters"]["SnapshotId"];
            };
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Bring the disk's content back to a snapshot
         * @description The snapshot VDI is cloned (`VDI.clone`), the disk's VBD is replaced by one at the same
         *     device on the clone (same mode, bootable flag and tags; the clone keeps the disk's tags)
         *     and the disk's former VDI is destroyed; the disk's other snapshots stay. The instance's
         *     power state does not change.
         *
         *     A halted instance: any disk it owns. A running instance: a data disk only, swapped hot
         *     (`VBD.unplug` of the old disk, `VBD.plug` of the clone: the guest sees the disk go and
         *     come back, so it must not be mounted); the root disk, or a disk whose VBD is not
         *     unpluggable, needs the instance halted (`409 invalid_power_state`), and so does any disk
         *     of a paused or suspended instance. An unknown snapshot id answers
         *     `404 snapshot_not_found`. A failure at any step puts the disk back where it was.
         */
        post: operations["revertDiskSnapshot"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/instances/{instance_id}/nics": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /**
                 * @description The orchestrator's id for the instance (Nova's instance uuid, CloudStack's
                 *     `i-<acct>-<vm>-VM`, OpenNebula's VM id). Unique within a namespace.
                 */
                instance_id: components["parameters"]["InstanceId"];
            };
            cookie?: never;
        };
        /** The instance's NICs */
        get: operations["listNics"];
        put?: never;
        /**
         * Attach a NIC (hot when running)
         * @description Creates a VIF on the network (uuid, name_label or bridge), or on the service's VLAN
         *     network for `vlan` (found, or made pool-wide on the service's VLAN device), at `device`
         *     (default: the lowest free one) with `mac` (default: generated by XAPI) and plugs it when
         *     the instance runs. A `port_id` (Neutron's port) is set as the VIF's
         *     `other_config:nicira-iface-id`, with `nicira-vm-id` the VM's uuid, which XAPI hands to
         *     Open vSwitch as the port's `external-ids`. With a `device` that already holds a NIC on the
         *     same network (and MAC and port, when given), answers the instance at once (`200`); on
         *     another network, `409 device_in_use`.
         */
        post: operations["attachNic"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/instances/{instance_id}/nics/{device}": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /**
                 * @description The orchestrator's id for the instance (Nova's instance uuid, CloudStack's
                 *     `i-<acct>-<vm>-VM`, OpenNebula's VM id). Unique within a namespace.
                 */
                instance_id: components["parameters"]["InstanceId"];
                /** @description The VIF's device number. */
                device: components["schemas"]["DeviceNumber"];
            };
            cookie?: never;
        };
        get?: never;
        put?: never;
        post?: never;
        /**
         * Detach a NIC (hot when running) and destroy its VIF
         * @description A device without a NIC answers `204`.
         */
        delete: operations["detachNic"];
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/instances/{instance_id}/console": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /**
                 * @description The orchestrator's id for the instance (Nova's instance uuid, CloudStack's
                 *     `i-<acct>-<vm>-VM`, OpenNebula's VM id). Unique within a namespace.
                 */
                instance_id: components["parameters"]["InstanceId"];
            };
            cookie?: never;
        };
        /**
         * A one-time console of a running instance
         * @description Hands out one console connection of the instance, proxied by the service: every answer
         *     is single use, expires at `expires_at` (60 s after it is given, by default; the service's
         *     `--console-ttl`) unless a client has connected by then, is bound to the instance (and its
         *     namespace) and carries no XAPI session. The service connects to the XAPI host the VM runs
         *     on with its own session (`CONNECT /console`), completes that side's RFB handshake and
         *     relays the rest. A connection ends when the VM stops running on that host (powered off,
         *     paused, suspended, migrated: fetch a new console), when the instance is destroyed, and
         *     when the client goes. Tokens and passwords live only in the service's memory: after a
         *     restart, fetch a new console.
         *
         *     `type` picks the form:
         *     - `vnc` (default): `host`, `port` and an 8-character `password`; plain RFB 3.8 with VNC
         *       authentication (CloudStack's console proxy, OpenNebula's FireEdge, any VNC viewer). The
         *       port is the instance's own, taken from the service's console port range until it is
         *       used or expires; one authentication attempt: a wrong password spends the console.
         *     - `tunnel`: `host`, `port` (the service's HTTP listener) and `path`: send
         *       `CONNECT <path> HTTP/1.1` and, after `HTTP/1.1 200`, RFB whose security type is None
         *       (Nova's noVNC proxy with `internal_access_path`).
         *     - `websocket`: a `ws:`/`wss:` URL carrying RFB in binary frames, as noVNC speaks it
         *       (security None).
         *     - `url`: a page of the service that runs noVNC against the WebSocket form; the token is
         *       spent when the page's WebSocket connects, not when the page loads.
         *     - `xapi`: admins only (others `403 forbidden`): XAPI's own console, `CONNECT <path>` to
         *       the host the VM runs on, whose path carries the service's XAPI session id, which opens
         *       the whole pool. Treat it as a secret. Nothing is proxied and it does not expire.
         *
         *     A running instance only: halted, suspended and paused ones answer `409
         *     invalid_power_state` with `expected_power_states` `[running]` (a paused domain's screen
         *     is frozen and takes no input; unpause it first). As many consoles of an instance (and of
         *     a namespace) may be open or handed out at once as the service's limits allow; beyond
         *     them `429 too_many_consoles`.
         */
        get: operations["getConsole"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/consoles/{console_token}": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The one-time token of a console answer. */
                console_token: components["parameters"]["ConsoleToken"];
            };
            cookie?: never;
        };
        get?: never;
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/consoles/{console_token}/websocket": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The one-time token of a console answer. */
                console_token: components["parameters"]["ConsoleToken"];
            };
            cookie?: never;
        };
        /**
         * The WebSocket console
         * @description A WebSocket (`Upgrade: websocket`, subprotocol `binary` when the client offers it) whose
         *     binary messages carry RFB 3.8 with security None, as noVNC speaks it. The token is spent
         *     by the upgrade; without `Upgrade` the route answers `426 upgrade_required` and spends
         *     nothing.
         */
        get: operations["connectConsoleWebSocket"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/consoles/{console_token}/": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The one-time token of a console answer. */
                console_token: components["parameters"]["ConsoleToken"];
            };
            cookie?: never;
        };
        /**
         * The console page (noVNC)
         * @description A page running noVNC (served by the service from its own copy, under
         *     `/console-assets/novnc/`) against this token's WebSocket form; the page says
         *     `connected` and shows the VM's name once the screen is there. Loading it spends nothing;
         *     its WebSocket spends the token, so a reload needs a new console.
         */
        get: operations["getConsolePage"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/instances/{instance_id}/console/log": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /**
                 * @description The orchestrator's id for the instance (Nova's instance uuid, CloudStack's
                 *     `i-<acct>-<vm>-VM`, OpenNebula's VM id). Unique within a namespace.
                 */
                instance_id: components["parameters"]["InstanceId"];
            };
            cookie?: never;
        };
        /**
         * The guest's console log, where it has one
         * @description Read through the host's `console` plugin (`host.call_plugin`), as Nova's XenAPI driver
         *     did. A host without the plugin, or a guest without a log, answers
         *     `404 console_not_available` (Nova's ConsoleNotAvailable).
         */
        get: operations["getConsoleLog"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/instances/{instance_id}/diagnostics": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /**
                 * @description The orchestrator's id for the instance (Nova's instance uuid, CloudStack's
                 *     `i-<acct>-<vm>-VM`, OpenNebula's VM id). Unique within a namespace.
                 */
                instance_id: components["parameters"]["InstanceId"];
            };
            cookie?: never;
        };
        /**
         * vCPU, memory, disk and NIC figures (Nova's get_instance_diagnostics)
         * @description From the VM's metrics and guest-metrics objects in the mirror.
         */
        get: operations["getDiagnostics"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/events": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Server-sent events of the caller's instances' lifecycle
         * @description A `text/event-stream` (SSE). Each event has `id:` (increasing), `event:` (its `type`)
         *     and `data:` (a LifecycleEvent as JSON): created, started, stopped, paused, resumed,
         *     suspended, deleted, migrated, for the caller's namespace only, derived from the mirror
         *     of the pool. A client that reconnects with `Last-Event-ID` (or `last_event_id`) first
         *     receives the events it missed, kept in a bounded buffer; when some were dropped (or the
         *     id predates this service's start) it first receives an `events_lost` event and should
         *     re-list instances. Comments (`: keep-alive`) are sent every 15 s. A client that
         *     falls more than 1 MiB behind is disconnected after the whole events it was sent, and
         *     resumes with `Last-Event-ID`.
         */
        get: operations["streamEvents"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/images": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * The images the caller sees (its namespace's and public ones), paged
         * @description Ordered by image id. Answered from the mirror.
         */
        get: operations["listImages"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/images/{image_id}": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The orchestrator's id for the image (Glance's image id, CloudStack's template uuid ...). Unique within a namespace. */
                image_id: components["parameters"]["ImageId"];
            };
            cookie?: never;
        };
        /** One image */
        get: operations["getImage"];
        /**
         * Import an image under the orchestrator's id (idempotent)
         * @description Two sources, told apart by `Content-Type`:
         *
         *     - `application/octet-stream`: the body is the image, in `format` (required), with
         *       `Content-Length` (required for `raw`) or chunked. It is streamed into a VDI created
         *       at the image's virtual size as it arrives (never held whole); its sha256, and the
         *       `checksum` asked for, are computed on the way. A qcow2 image on a pool whose xapi
         *       cannot take qcow2 (before 25.27) is converted with `qemu-img` through a temporary
         *       file.
         *     - `application/json` (ImageImportRequest): the service downloads `source_url` as an
         *       operation reporting the bytes received. Only http and https URLs matching the
         *       service's allow-list (none by default), at most 5 redirects, bounded by the service's
         *       size limit and timeouts.
         *
         *     Both answer an operation whose `result` is the Image. Idempotent by `image_id`: the
         *     same bytes again answer the existing image; different bytes answer `409
         *     image_conflict`. Every failure leaves no VDI behind: `upload_incomplete`,
         *     `checksum_mismatch`, `invalid_image` (also a format that does not match the bytes),
         *     `507 insufficient_storage` when the virtual size exceeds the SR's free space, and for
         *     URLs `url_not_allowed`, `url_unreachable`, `too_many_redirects`, `image_too_large`.
         */
        put: operations["importImage"];
        post?: never;
        /**
         * Delete an image and its base VDIs
         * @description Removes every copy (base VDI) of the image; instances cloned from it keep their disks.
         *     A public image is deleted by admins only (`403` otherwise). An image that does not
         *     exist (or is not visible) answers `204`; one being imported answers `409 image_busy`;
         *     one that is an instance's persistent disk `409 image_in_use`.
         */
        delete: operations["deleteImage"];
        options?: never;
        head?: never;
        /**
         * Mark an image public or private (admin)
         * @description An image that is an instance's persistent disk is not published (`409 image_in_use`).
         */
        patch: operations["updateImage"];
        trace?: never;
    };
    "/v1/images/{image_id}/file": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The orchestrator's id for the image (Glance's image id, CloudStack's template uuid ...). Unique within a namespace. */
                image_id: components["parameters"]["ImageId"];
            };
            cookie?: never;
        };
        /**
         * The image's bytes, streamed from XAPI in a format
         * @description Streamed by XAPI's `/export_raw_vdi`. A xapi before 25.27 exports `raw` and `vhd` only:
         *     `qcow2` there answers `422 format_not_supported`. An image that is an instance's
         *     persistent disk answers `409 image_in_use` (its bytes are changing).
         */
        get: operations["exportImage"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/instances/{instance_id}/snapshots/{snapshot_id}/disks/{device}/file": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /**
                 * @description The orchestrator's id for the instance (Nova's instance uuid, CloudStack's
                 *     `i-<acct>-<vm>-VM`, OpenNebula's VM id). Unique within a namespace.
                 */
                instance_id: components["parameters"]["InstanceId"];
                /** @description The orchestrator's id for the snapshot (Nova's image id, CloudStack's snapshot uuid ...). Unique within an instance. */
                snapshot_id: components["parameters"]["SnapshotId"];
                /** @description The disk's device position in the snapshot (`0` is the root disk). */
                device: components["schemas"]["DeviceNumber"];
            };
            cookie?: never;
        };
        /**
         * A snapshot's disk, streamed from XAPI in a format (without copying the snapshot)
         * @description Streamed by XAPI's `/export_raw_vdi`. A xapi before 25.27 exports `raw` and `vhd` only:
         *     `qcow2` there answers `422 format_not_supported`.
         */
        get: operations["exportSnapshotDisk"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/v1/instances/{instance_id}/disks/{device}/snapshots/{snapshot_id}/file": {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /**
                 * @description The orchestrator's id for the instance (Nova's instance uuid, CloudStack's
                 *     `i-<acct>-<vm>-VM`, OpenNebula's VM id). Unique within a namespace.
                 */
                instance_id: components["parameters"]["InstanceId"];
                /** @description The disk's VBD device position. */
                device: components["parameters"]["DiskDevice"];
                /** @description The orchestrator's id for the snapshot (Nova's image id, CloudStack's snapshot uuid ...). Unique within an instance. */
                snapshot_id: components["parameters"]["SnapshotId"];
            };
            cookie?: never;
        };
        /**
         * A disk snapshot's bytes, streamed from XAPI in a format
         * @description Streamed by XAPI's `/export_raw_vdi` from the snapshot VDI. A xapi before 25.27 exports
         *     `raw` and `vhd` only: `qcow2` there answers `422 format_not_supported`. An unknown
         *     snapshot id answers `404 snapshot_not_found`.
         */
        get: operations["exportDiskSnapshot"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/healthz": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Liveness (the process answers)
         * @description Answers as soon as the service listens, before it is ready. Carries nothing but its status.
         */
        get: operations["healthz"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/readyz": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Readiness (start-up reconcile done, index built, XAPI session up, mirror synced)
         * @description The readiness probe. While it answers `503 not_ready`, so does every `/v1` request.
         */
        get: operations["readyz"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/metrics": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Prometheus metrics */
        get: operations["metrics"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/openapi.json": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** This document, as JSON */
        get: operations["openapi"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
}
export type webhooks = Record<string, never>;
export interface components {
    schemas: {
        /** @example 6b0f7c1e-2f57-4d43-9a53-2b9f1d7c2a10 */
        InstanceId: string;
        Uuid: string;
        /** Format: date-time */
        Timestamp: string;
        /**
         * @description Normalized power state (Nova's names). XAPI Halted is `shutdown`.
         * @enum {string}
         */
        PowerState: "running" | "paused" | "shutdown" | "suspended" | "crashed" | "nostate";
        /**
         * @description The VM's `power_state` exactly as XAPI reports it.
         * @enum {string}
         */
        XapiPowerState: "Halted" | "Paused" | "Running" | "Suspended";
        /**
         * @description The service's lifecycle of the instance (tagged in XAPI's other_config).
         * @enum {string}
         */
        InstanceState: "building" | "active" | "deleting" | "error";
        /**
         * @description A unicast MAC (the low bit of the first octet clear: no broadcast or multicast), not
         *     all zero. The MACs of one request must differ (compared without case).
         */
        MacAddress: string;
        /** @description What a health check needs and nothing more (these answers need no token). */
        Health: {
            /** @enum {string} */
            status: "ok";
        };
        /**
         * @description An RFC 9457 problem with a stable `code` (see the table in the description). HTTP error
         *     responses always carry `type`, `title` and `detail`; other members appear when they apply
         *     (XAPI's refusal, validation errors, figures such as `expected_power_states`).
         */
        Problem: {
            /** @description A URI naming the problem type (`urn:xcd:error:<code>`). */
            type?: string;
            title?: string;
            status: number;
            detail?: string;
            /** @description The request path. */
            instance?: string;
            code: components["schemas"]["ErrorCode"];
            /** @description The XAPI error behind this problem, its refs and session ids replaced by '<ref>'. */
            xapi_error?: {
                /** @example VM_BAD_POWER_STATE */
                code: string;
                params: string[];
            };
            /** @description For `invalid_request`, one entry per offending field. */
            errors?: {
                /** @description Where: `body.nics[0].mac`, `query.limit`, `path.instance_id`, `header.prefer`. */
                field: string;
                message: string;
            }[];
        } & {
            [key: string]: unknown;
        };
        /** @enum {string} */
        ErrorCode: "unauthorized" | "forbidden" | "invalid_request" | "not_found" | "method_not_allowed" | "unsupported_media_type" | "unsupported_charset" | "unsupported_content_encoding" | "not_ready" | "instance_not_found" | "operation_not_found" | "template_not_found" | "image_not_found" | "network_not_found" | "sr_not_found" | "host_not_found" | "conflict_spawn_mismatch" | "instance_busy" | "instance_queue_full" | "invalid_power_state" | "operation_finished" | "insufficient_memory" | "no_host_available" | "operation_in_progress" | "operation_blocked" | "operation_not_allowed" | "guest_lacks_feature" | "disk_in_use" | "cancelled" | "invalid_value" | "licence_restriction" | "insufficient_storage" | "shutdown_timeout" | "xapi_error" | "xapi_unavailable" | "timeout" | "internal_error" | "snapshot_not_found" | "volume_not_found" | "console_not_available" | "console_token_invalid" | "too_many_consoles" | "console_ports_exhausted" | "upgrade_required" | "device_in_use" | "upload_incomplete" | "checksum_mismatch" | "invalid_image" | "image_conflict" | "image_busy" | "image_in_use" | "url_not_allowed" | "url_unreachable" | "too_many_redirects" | "image_too_large" | "power_cycle_required" | "vlan_not_allowed" | "vlan_in_use" | "network_exists" | "network_in_use" | "format_not_supported" | "disk_smaller_than_image" | "volume_in_use" | "iscsi_target_unreachable" | "iscsi_target_not_found" | "iscsi_login_failed" | "iscsi_lun_not_found" | "boot_settings_conflict";
        /**
         * @description The pool as one compute node. Totals sum the live hosts; `hosts` breaks them down.
         *     Disk figures sum the SRs that can hold instance disks (the default SR's kind).
         */
        Host: {
            /** @description The pool's uuid; stable, usable as Nova's node uuid. */
            uuid: string;
            /** @description The pool master's hostname (Nova's hypervisor_hostname). */
            hostname: string;
            /** @description The pool master's address. */
            host_ip?: string;
            /** @constant */
            hypervisor_type: "xen";
            /** @description The Xen version as an integer, major*1000000 + minor*1000 + patch (4.17.0 is 4017000). */
            hypervisor_version: number;
            product: {
                /** @example XCP-ng */
                name: string;
                /** @example 8.3.0 */
                version: string;
                /** @example 4.17.0 */
                xen_version?: string;
            };
            vcpus: components["schemas"]["UsedTotal"];
            memory_mb: components["schemas"]["UsedTotalFree"];
            disk_gb: components["schemas"]["UsedTotalFree"];
            /** @description The master's `cpu_info` (vendor, model, speed, flags ...) plus `arch` and `topology`. */
            cpu_info: {
                [key: string]: unknown;
            };
            /** @description [arch, hv_type, vm_mode] triples (Nova's supported_instances). */
            supported_instances: [
                string,
                string,
                "hvm" | "xen"
            ][];
            hosts: components["schemas"]["HostSummary"][];
            /** @description Seconds since the master booted. */
            uptime: number;
        };
        HostSummary: {
            uuid: string;
            name: string;
            address: string;
            /** @description The host's iSCSI initiator IQN (XAPI `host.iscsi_iqn`, or `other_config:iscsi_iqn`); empty when it has none. Nova's volume connector `initiator`. */
            iscsi_iqn: string;
            enabled: boolean;
            live: boolean;
            master: boolean;
            vcpus: components["schemas"]["UsedTotal"];
            memory_mb: components["schemas"]["UsedTotalFree"];
            running_instances?: number;
            /** @description The mean utilisation of the host's physical CPUs as XAPI last reported it (`host_cpu.utilisation`). */
            cpu_usage?: number;
            /** @description The clock of its physical CPUs (`host_cpu.speed`). */
            cpu_speed_mhz?: number;
        };
        UsedTotal: {
            total: number;
            used: number;
        };
        UsedTotalFree: {
            total: number;
            used: number;
            free: number;
        };
        Template: {
            uuid: string;
            name_label: string;
            name_description?: string;
            /** @description Shipped with XAPI (other_config.default_template). */
            default_template?: boolean;
            /** @description VCPUs_at_startup. */
            vcpus?: number;
            /** @description memory_static_max in MiB. */
            memory_mb?: number;
            /** @description Size of the root disk the template provisions, when known. */
            disk_gb?: number;
        };
        Network: {
            uuid: string;
            name_label: string;
            name_description?: string;
            bridge: string;
            mtu?: number;
            /** @description The service made it (tagged `xcd_managed` in its other_config). */
            managed: boolean;
            /** @description The VLAN tag of a network the service made (`xcd_vlan`). */
            vlan?: number;
        };
        SR: {
            uuid: string;
            name_label: string;
            name_description?: string;
            /** @description XAPI SR type: lvm, ext, nfs, iso, udev ... */
            type: string;
            content_type: string;
            shared: boolean;
            /** @description The pool's default SR. */
            default: boolean;
            /** @description physical_size in GiB (rounded down). */
            size_gb: number;
            /** @description physical_utilisation in GiB (rounded up). */
            used_gb: number;
            free_gb: number;
        };
        /**
         * @description Exactly one of `template`, `image_vdi`, `image` and `root_volume`. vCPUs and memory default to the template's
         *     (for an image, 1 vCPU and 512 MiB). `user_data` and `metadata` are delivered on a config
         *     drive (an ISO VDI labelled `config-2`, attached as a CD); without them no drive is made.
         */
        SpawnRequest: {
            /** @description The VM's name_label (default the instance id). */
            name?: string;
            /** @description A template's uuid or name_label. */
            template?: string;
            /** @description The uuid of a VDI to copy as the root disk (on a blank HVM VM): a disk of the caller's namespace, or an unused plain disk on an SR the operator configured as a volume source; any other VDI answers `404 image_not_found` as an unknown uuid does. */
            image_vdi?: string;
            /** @description An image (`/v1/images`) of the caller's namespace or a public one: its base VDI in the target SR is cloned (copied into that SR once first, shared by concurrent spawns) and grown to `root_disk_gb`. Another namespace's private image answers `404 image_not_found`. */
            image?: components["schemas"]["ImageId"];
            /**
             * @description With `image`: the root disk is the image's own base, not a clone (as `PUT /v1/instances/{id}/disks/{device}` with `persistent`): its only copy, or the one in `sr`; the caller's own image only (`403 forbidden` for another namespace's public one), one instance at a time (`409 image_in_use`), no `root_disk_gb` (`400 invalid_request`). Destroying the instance releases it, never destroys it: the image keeps what the instance wrote.
             * @default false
             */
            persistent_image?: boolean;
            vcpus?: number;
            memory_mb?: number;
            /** @description The most vCPUs a live resize may give (VCPUs_max, set before the first start; default `vcpus`). At least `vcpus`. */
            max_vcpus?: number;
            /** @description The most memory a live resize may give (memory_static_max, set before the first start; default `memory_mb`). At least `memory_mb`. */
            max_memory_mb?: number;
            /** @description Grow the root disk to this size. */
            root_disk_gb?: number;
            /** @description SR uuid for the root disk and config drive (default: the pool's default SR). */
            sr?: string;
            disks?: components["schemas"]["DiskRequest"][];
            /** @description The NICs, in device order; their `mac`s, when given, must differ. */
            nics?: components["schemas"]["NicRequest"][];
            user_data?: components["schemas"]["UserData"];
            metadata?: components["schemas"]["ConfigDriveMetadata"];
            /** @default true */
            power_on?: boolean;
            vm_mode?: components["schemas"]["VmMode"];
            firmware?: components["schemas"]["Firmware"];
            /** @description UEFI Secure Boot (`platform:secureboot`; default false). Only with `firmware: uefi`. */
            secure_boot?: boolean;
            root_volume?: components["schemas"]["RootVolume"];
        } & (unknown | unknown | unknown | unknown);
        /**
         * @description Boot from a volume: a blank HVM VM (as for `image_vdi`) whose root disk, device 0 and
         *     bootable, is this volume; the service makes no root disk. With `connection`, an iSCSI LUN
         *     attached as `PUT /v1/instances/{id}/volumes/{volume_id}` attaches one (SR introduced or
         *     reused, PBDs plugged, the LUN's VDI found); without, `volume_id` is a VDI uuid the caller
         *     may attach (`404 volume_not_found` otherwise). The volume is listed by `/volumes` like
         *     any other. Destroying the instance detaches it, never destroys it, and forgets its iSCSI
         *     SR when no VBD uses it any more, as a detach does; a failed spawn undoes the attach alike.
         *     The CHAP password is not part of the spawn's identity (the `conflict_spawn_mismatch`
         *     check): a retry with other credentials is the same spawn.
         */
        RootVolume: {
            volume_id: components["schemas"]["VolumeId"];
            /**
             * @default RW
             * @enum {string}
             */
            mode?: "RW" | "RO";
            connection?: components["schemas"]["VolumeConnection"];
        };
        /**
         * @description How the guest boots (default: the template's; a VM without a template is `hvm`). `hvm`:
         *     `HVM_boot_policy` `BIOS order`, `domain_type` `hvm`, no `PV_bootloader`. `pv`: paravirtualised,
         *     as xapi's PV templates are: `HVM_boot_policy` empty, `HVM_boot_params` empty, `PV_bootloader`
         *     `pygrub` (the kernel from the root disk), `domain_type` `pv`. `pv` with `firmware: uefi` or
         *     `secure_boot` answers `422 boot_settings_conflict`.
         * @enum {string}
         */
        VmMode: "hvm" | "pv";
        /**
         * @description The HVM guest's firmware, `HVM_boot_params:firmware` (default: the template's; a VM without
         *     a template gets `bios`), with `platform:device-model` `qemu-upstream-uefi` or
         *     `qemu-upstream-compat` as Xen Orchestra sets them, and `platform:secureboot`
         *     (`secure_boot`, default false).
         * @enum {string}
         */
        Firmware: "bios" | "uefi";
        /** @description Base64 user data (RFC 4648 standard alphabet, padded, canonical, no line breaks; at most 64 KiB decoded). */
        UserData: string;
        /** @description Free-form metadata written to the config drive (meta_data.json); like every body, at most 32 levels deep. */
        ConfigDriveMetadata: {
            [key: string]: unknown;
        };
        /** @description What the config drive holds from now on (what a spawn's members of these names make); a member left out is not on the drive. */
        ConfigDriveRequest: {
            user_data?: components["schemas"]["UserData"];
            metadata?: components["schemas"]["ConfigDriveMetadata"];
        };
        DiskRequest: {
            size_gb: number;
            /** @description SR uuid (default: the pool's default SR). */
            sr?: string;
        };
        /** @description Exactly one of `network` and `vlan`; `port_id` with either. */
        NicRequest: {
            /** @description A network's uuid, name_label or bridge. */
            network?: string;
            vlan?: components["schemas"]["VlanTag"];
            port_id?: components["schemas"]["PortId"];
            mac?: components["schemas"]["MacAddress"];
        } & (unknown | unknown);
        /**
         * @description A VLAN tag: the NIC joins the service's network for that VLAN on its VLAN device, made
         *     pool-wide on first use (`422 vlan_not_allowed` outside the service's VLAN range,
         *     `409 vlan_in_use` when a network the service did not make carries the tag). The network
         *     is the pool's: it stays when the instance goes (or its spawn fails), for the next NIC.
         */
        VlanTag: number;
        /** @description The orchestrator's port id (Neutron's port uuid), set as the VIF's `other_config:nicira-iface-id`. */
        PortId: string;
        NetworkCreateRequest: {
            vlan: components["schemas"]["VlanTag"];
            /** @description The network's name_description. */
            description?: string;
            /** @default 1500 */
            mtu?: number;
        };
        /** @description A new blank disk (`size_gb`), or a clone of an image (`image`). */
        DiskAddRequest: components["schemas"]["BlankDiskRequest"] | components["schemas"]["ImageDiskRequest"];
        BlankDiskRequest: {
            size_gb: number;
            /** @description SR uuid (default: the pool's default SR). */
            sr?: string;
            /** @default false */
            bootable?: boolean;
        };
        ImageDiskRequest: {
            image: components["schemas"]["ImageId"];
            /** @description Grow the clone to this size (default: the image's virtual size). Smaller than the image answers `422 disk_smaller_than_image`. */
            size_gb?: number;
            /** @description SR uuid (default: the pool's default SR). The image's base is copied there once when it has none there yet. With `persistent`: the SR of the copy to attach (default: the image's only copy). */
            sr?: string;
            /** @default false */
            bootable?: boolean;
            /**
             * @description Attach the image's own base instead of a clone: writes go to the image, which stays when the disk is detached or the instance destroyed (see the operation).
             * @default false
             */
            persistent?: boolean;
        };
        /** @description A power action, tagged by `action`. More actions join this union later. */
        InstanceAction: components["schemas"]["RebootAction"] | components["schemas"]["PowerOffAction"] | components["schemas"]["PowerOnAction"] | components["schemas"]["PauseAction"] | components["schemas"]["UnpauseAction"] | components["schemas"]["SuspendAction"] | components["schemas"]["ResumeAction"] | components["schemas"]["ResizeAction"] | components["schemas"]["MigrateAction"];
        RebootAction: {
            /**
             * @description discriminator enum property added by openapi-typescript
             * @enum {string}
             */
            action: "reboot";
            /**
             * @default soft
             * @enum {string}
             */
            type?: "soft" | "hard";
            /**
             * @description Seconds a soft reboot may take before the hard one.
             * @default 60
             */
            timeout?: number;
        };
        PowerOffAction: {
            /**
             * @description discriminator enum property added by openapi-typescript
             * @enum {string}
             */
            action: "power-off";
            /**
             * @default clean
             * @enum {string}
             */
            type?: "clean" | "hard";
            /**
             * @description Seconds a clean shutdown may take before the hard one.
             * @default 60
             */
            timeout?: number;
        };
        PowerOnAction: {
            /**
             * @description discriminator enum property added by openapi-typescript
             * @enum {string}
             */
            action: "power-on";
        };
        Instance: {
            id: components["schemas"]["InstanceId"];
            /** @description The VM's name_label. */
            name: string;
            namespace: string;
            /** @description The XAPI VM's uuid. */
            uuid: string;
            state: components["schemas"]["InstanceState"];
            power_state: components["schemas"]["PowerState"];
            xapi_power_state: components["schemas"]["XapiPowerState"];
            /** @description The vCPUs now (VCPUs_at_startup, which a live resize moves). */
            vcpus: number;
            /** @description The memory now, in MiB (memory_dynamic_max, which a live resize moves). */
            memory_mb: number;
            /** @description The most vCPUs a live resize may give (VCPUs_max). */
            max_vcpus: number;
            /** @description The most memory a live resize may give, in MiB (memory_static_max). */
            max_memory_mb: number;
            /** @description Every disk and CD drive, including volumes attached by uuid (also listed by `/volumes`). */
            disks: components["schemas"]["Disk"][];
            nics: components["schemas"]["Nic"][];
            /** @description Where the instance runs (null when halted). */
            host: components["schemas"]["HostRef"] | null;
            /** @description The template or image it was spawned from (`volume:<volume_id>` when it boots from a `root_volume`). */
            template?: string;
            /** @description How it boots: `pv` when `HVM_boot_policy` is empty, else `hvm`. */
            vm_mode?: components["schemas"]["VmMode"];
            /** @description An `hvm` instance's firmware (`HVM_boot_params:firmware`, `bios` when unset); absent for `pv`. */
            firmware?: components["schemas"]["Firmware"];
            /** @description UEFI Secure Boot (`platform:secureboot`); present with `firmware: uefi`. */
            secure_boot?: boolean;
            created_at: components["schemas"]["Timestamp"];
            updated_at: components["schemas"]["Timestamp"];
        };
        HostRef: {
            uuid: string;
            name: string;
        };
        Disk: {
            /** @description The VDI's uuid (empty for an empty CD drive). */
            uuid: string;
            /** @description The VBD's userdevice (0, 1, ... 3 is the CD). */
            device: string;
            /** @enum {string} */
            type: "disk" | "cdrom";
            bootable?: boolean;
            size_gb: number;
            /** @description The SR's uuid. */
            sr: string;
        };
        Nic: {
            /** @description The VIF's device number. */
            device: string;
            mac: string;
            /** @description The network's uuid. */
            network: string;
            network_name?: string;
        };
        InstancePage: {
            items: components["schemas"]["Instance"][];
            /** @description Matching instances across all pages. */
            total: number;
            limit: number;
            offset: number;
        };
        /** @enum {string} */
        OperationKind: "spawn" | "destroy" | "reboot" | "power-off" | "power-on" | "pause" | "unpause" | "suspend" | "resume" | "resize" | "migrate" | "snapshot" | "revert" | "delete-snapshot" | "attach-volume" | "detach-volume" | "attach-nic" | "detach-nic" | "add-disk" | "remove-disk" | "disk-snapshot" | "revert-disk-snapshot" | "delete-disk-snapshot" | "update-config-drive" | "import-image" | "host-disable" | "host-enable" | "host-evacuate" | "host-reboot" | "host-shutdown" | "host-power-on";
        HostAction: {
            /** @enum {string} */
            action: "disable" | "enable" | "evacuate" | "reboot" | "shutdown" | "power-on";
        };
        /** @enum {string} */
        OperationStatus: "running" | "succeeded" | "failed" | "cancelled";
        Operation: {
            id: string;
            kind: components["schemas"]["OperationKind"];
            /** @description The instance it acts on (empty for an image or host operation, which names `image_id` or `host_id`). */
            instance_id: components["schemas"]["InstanceId"] | "";
            /** @description The image an `import-image` operation makes. */
            image_id?: components["schemas"]["ImageId"];
            /** @description The uuid of the host a `host-*` operation acts on. */
            host_id?: string;
            status: components["schemas"]["OperationStatus"];
            /** @description Follows the XAPI task's progress (an import's */
            progress: number;
            /** @description The step running now (spawn, destroy). */
            step?: string;
            created_at: components["schemas"]["Timestamp"];
            finished_at: components["schemas"]["Timestamp"] | null;
            /** @description Why it failed (null unless failed or cancelled). */
            error: components["schemas"]["Problem"] | null;
            /** @description The instance after the operation, for `import-image` the Image, for `host-*` the host (null until it succeeds, and for a destroy). */
            result: components["schemas"]["Instance"] | components["schemas"]["Image"] | components["schemas"]["HostSummary"] | null;
        };
        PauseAction: {
            /**
             * @description Running -> paused (VM.pause). (enum property replaced by openapi-typescript)
             * @enum {string}
             */
            action: "pause";
        };
        UnpauseAction: {
            /**
             * @description Paused -> running (VM.unpause). (enum property replaced by openapi-typescript)
             * @enum {string}
             */
            action: "unpause";
        };
        SuspendAction: {
            /**
             * @description Running -> suspended, memory saved to the suspend SR (VM.suspend). (enum property replaced by openapi-typescript)
             * @enum {string}
             */
            action: "suspend";
        };
        ResumeAction: {
            /**
             * @description Suspended -> running (VM.resume). (enum property replaced by openapi-typescript)
             * @enum {string}
             */
            action: "resume";
        };
        /**
         * @description Changes vCPUs, memory and disk sizes. Live where XAPI allows it: vCPUs up to the
         *     instance's `max_vcpus` (`VCPUs_max`, `VM.set_VCPUs_number_live`), memory up to its
         *     `max_memory_mb` (`memory_static_max`, `VM.set_memory_dynamic_range`), disks grown with
         *     `VDI.resize_online`. Anything else (above the maxima, or new maxima) needs the instance
         *     halted: with `power_cycle: none` (default) a running instance answers
         *     `409 power_cycle_required` carrying `max_vcpus` and `max_memory_mb`; `clean` or `hard`
         *     shut it down that way, apply the changes and start it again. A halted instance is changed
         *     in place. Maxima named by `max_vcpus` / `max_memory_mb` win; otherwise a live change keeps
         *     them, and a change made halted keeps them where the instance has headroom above its
         *     figures (raising them when the new figures exceed them) and moves them with the figures
         *     where it has none. Disks only grow.
         */
        ResizeAction: {
            /**
             * @description discriminator enum property added by openapi-typescript
             * @enum {string}
             */
            action: "resize";
            vcpus?: number;
            memory_mb?: number;
            /** @description New VCPUs_max (needs the instance halted); at least the vCPUs it will have. */
            max_vcpus?: number;
            /** @description New memory_static_max (needs the instance halted); at least the memory it will have. */
            max_memory_mb?: number;
            disks?: {
                device: components["schemas"]["DeviceNumber"];
                size_gb: number;
            }[];
            /**
             * @default none
             * @enum {string}
             */
            power_cycle?: "none" | "clean" | "hard";
            /**
             * @description Seconds a clean shutdown may take before the hard one.
             * @default 60
             */
            timeout?: number;
        };
        /**
         * @description Live migration within the pool (`VM.pool_migrate` with `live=true`) to `host` (uuid or
         *     name_label), or to the live, enabled host other than the current one with the most free
         *     memory that can take the instance.
         */
        MigrateAction: {
            /**
             * @description discriminator enum property added by openapi-typescript
             * @enum {string}
             */
            action: "migrate";
            host?: string;
        };
        /** @description A device position in canonical decimal (`0`, `7`, `15`; not `00` or `07`). */
        DeviceNumber: string;
        Snapshot: {
            id: components["schemas"]["SnapshotId"];
            instance_id: components["schemas"]["InstanceId"];
            /** @description The snapshot VM's name_label. */
            name: string;
            /** @description The snapshot VM's uuid. */
            uuid: string;
            /** @description A checkpoint with the memory image. */
            memory: boolean;
            created_at: components["schemas"]["Timestamp"];
            power_state_at_snapshot: components["schemas"]["PowerState"];
            vcpus: number;
            memory_mb: number;
            disks: components["schemas"]["Disk"][];
        };
        SnapshotId: string;
        ImageId: string;
        /**
         * @description A disk format: `raw`, `vhd` (dynamic or fixed) or `qcow2` (version 2 or 3, no backing file, no encryption).
         * @enum {string}
         */
        ImageFormat: "raw" | "vhd" | "qcow2";
        /** @description `<algorithm>:<hex digest>`, the algorithm one of md5, sha256, sha512 (Glance keeps md5 and sha512). */
        ImageChecksum: string;
        /** @enum {string} */
        ImageStatus: "importing" | "active" | "failed";
        Image: {
            id: components["schemas"]["ImageId"];
            name: string;
            /** @description The namespace that imported it. */
            namespace: string;
            /** @description Visible to (and spawnable by) every namespace; only admins delete it. */
            public: boolean;
            /** @description The format it was received in. */
            format: components["schemas"]["ImageFormat"];
            /** @description The disk's size in bytes. */
            virtual_size: number;
            status: components["schemas"]["ImageStatus"];
            /** @description The sha256 of the bytes received (`sha256:<hex>`); empty once the image has been used as a persistent disk (its bytes changed since). */
            checksum: string;
            /** @description The instance whose persistent disk the image is now (shown to the image's own namespace only); absent when none. */
            in_use_by?: string;
            /** @description The uuids of the SRs holding a copy (a base VDI). */
            srs: string[];
            created_at: components["schemas"]["Timestamp"];
        };
        ImagePage: {
            items: components["schemas"]["Image"][];
            total: number;
            limit: number;
            offset: number;
        };
        ImageImportRequest: {
            /**
             * Format: uri
             * @description An http or https URL matching the service's source allow-list (`--image-url-allow`; none by default).
             */
            source_url: string;
            format: components["schemas"]["ImageFormat"];
            checksum?: components["schemas"]["ImageChecksum"];
            name?: string;
            /** @description SR uuid for the first copy (default: the pool's default SR). */
            sr?: string;
        };
        ImageUpdate: {
            public: boolean;
        };
        DiskSnapshot: {
            id: components["schemas"]["SnapshotId"];
            instance_id: components["schemas"]["InstanceId"];
            device: components["schemas"]["DeviceNumber"];
            /** @description The snapshot VDI's name_label. */
            name: string;
            /** @description The snapshot VDI's uuid. */
            uuid: string;
            /** @description The disk's virtual size in GiB when the snapshot was taken. */
            size_gb: number;
            created_at: components["schemas"]["Timestamp"];
        };
        DiskSnapshotRequest: {
            /** @description The snapshot VDI's name_label (default: `<instance name> disk <device> snapshot <id>`). */
            name?: string;
        };
        SnapshotRequest: {
            /** @description The snapshot's name_label (default: `<instance name>-<snapshot id>`). */
            name?: string;
            /**
             * @description Take a checkpoint with the memory image (running instances).
             * @default false
             */
            memory?: boolean;
        };
        RevertRequest: {
            /**
             * @description Start (or resume) the instance after the revert.
             * @default false
             */
            power_on?: boolean;
        };
        Volume: {
            /** @description The id the volume was attached by: the orchestrator's volume id for a volume by connection, the VDI's uuid otherwise. */
            volume_id: string;
            /** @description The VDI's uuid. */
            uuid: string;
            /** @description The target of a volume attached by connection (never its credentials). */
            iscsi?: {
                target_portal: string;
                target_iqn: string;
                target_lun: number;
            };
            device: components["schemas"]["DeviceNumber"];
            /** @enum {string} */
            mode: "RW" | "RO";
            /** @description Plugged into the running guest (VBD.currently_attached). */
            attached: boolean;
            bootable?: boolean;
            size_gb: number;
            /** @description The SR's uuid. */
            sr: string;
            /** @description The VDI's name_label. */
            name: string;
        };
        VolumeAttachRequest: {
            device?: components["schemas"]["DeviceNumber"];
            /**
             * @default RW
             * @enum {string}
             */
            mode?: "RW" | "RO";
            /** @default false */
            bootable?: boolean;
            connection?: components["schemas"]["VolumeConnection"];
        };
        /** @description A Cinder volume id, a VDI uuid, or another orchestrator's volume id. */
        VolumeId: string;
        /** @description Cinder's `connection_info` of an iSCSI volume, as Cinder gives it. */
        VolumeConnection: {
            /** @enum {string} */
            driver_volume_type: "iscsi";
            data: components["schemas"]["IscsiConnectionData"];
        };
        /**
         * @description The target and its credentials. Members Cinder sends that the attach does not use
         *     (`volume_id`, `target_discovered`, `encrypted`, `qos_specs`, `access_mode`,
         *     `target_portals`, ...) are accepted and ignored.
         */
        IscsiConnectionData: {
            /** @description `host:port` (port 3260 when left out); an IPv6 host in brackets. */
            target_portal: string;
            /** @description The target's iSCSI qualified name (`iqn.` or `eui.` form). */
            target_iqn: string;
            target_lun: number;
            /** @description `CHAP` uses the credentials; anything else (or none) logs in without. */
            auth_method?: string;
            auth_username?: string;
            /** @description Handed to XAPI only; never answered */
            auth_password?: string;
        };
        NicAttachment: {
            device: components["schemas"]["DeviceNumber"];
            mac: string;
            /** @description The network's uuid. */
            network: string;
            network_name?: string;
            /** @description Plugged into the running guest (VIF.currently_attached). */
            attached: boolean;
            mtu?: number;
            /** @description The port id the NIC carries (`other_config:nicira-iface-id`), when it has one. */
            port_id?: string;
        };
        /** @description Exactly one of `network` and `vlan`; `port_id` with either. */
        NicAttachRequest: {
            /** @description A network's uuid, name_label or bridge. */
            network?: string;
            vlan?: components["schemas"]["VlanTag"];
            port_id?: components["schemas"]["PortId"];
            mac?: components["schemas"]["MacAddress"];
            device?: components["schemas"]["DeviceNumber"];
        } & (unknown | unknown);
        /** @description A console of an instance, by `type`. */
        Console: components["schemas"]["ConsoleVnc"] | components["schemas"]["ConsoleTunnel"] | components["schemas"]["ConsoleWebSocket"] | components["schemas"]["ConsoleUrl"] | components["schemas"]["ConsoleXapi"];
        ConsoleVnc: {
            /**
             * @description discriminator enum property added by openapi-typescript
             * @enum {string}
             */
            type: "vnc";
            /** @description Where the service's VNC listener is reached (its `--console-public-host`). */
            host: string;
            /** @description This console's port, from the service's `--console-ports` range. */
            port: number;
            /** @description The one-time VNC password (VNC authentication uses 8 characters). */
            password: string;
            /**
             * Format: date-time
             * @description Connect and authenticate before this.
             */
            expires_at: string;
        };
        ConsoleTunnel: {
            /**
             * @description discriminator enum property added by openapi-typescript
             * @enum {string}
             */
            type: "tunnel";
            /** @description The service's HTTP listener, as the request reached it (its Host header). */
            host: string;
            port: number;
            /** @description What to send as `CONNECT <path> HTTP/1.1` (`/v1/consoles/<token>`). */
            path: string;
            /** @description The listener was reached over TLS. */
            tls: boolean;
            /** Format: date-time */
            expires_at: string;
        };
        ConsoleWebSocket: {
            /**
             * @description discriminator enum property added by openapi-typescript
             * @enum {string}
             */
            type: "websocket";
            /** @description `ws(s)://<service>/v1/consoles/<token>/websocket`. */
            url: string;
            /** Format: date-time */
            expires_at: string;
        };
        ConsoleUrl: {
            /**
             * @description discriminator enum property added by openapi-typescript
             * @enum {string}
             */
            type: "url";
            /** @description `http(s)://<service>/v1/consoles/<token>/`: the noVNC page. */
            url: string;
            /**
             * Format: date-time
             * @description The page's WebSocket must connect before this.
             */
            expires_at: string;
        };
        ConsoleXapi: {
            /**
             * @description discriminator enum property added by openapi-typescript
             * @enum {string}
             */
            type: "xapi";
            /** @constant */
            protocol: "vnc";
            /** @description The address of the XAPI host the instance runs on. */
            host: string;
            /** @description The port of the XAPI URL the service uses (80 for http, 443 for https when it names none): every host serves the console where it serves XAPI, while the console record's location names no port. */
            port: number;
            /** @description What a proxy sends as `CONNECT <path> HTTP/1.1` (`/console?uuid=...&session_id=...`): it carries the service's XAPI session. */
            path: string;
            /** @description The console record's location (`https://<host>/console?uuid=...`). */
            url: string;
            /** @description The host expects TLS on that port: the service reaches XAPI over https. */
            tls: boolean;
            console_uuid?: string;
        };
        ConsoleLog: {
            text: string;
        };
        Diagnostics: {
            instance_id: components["schemas"]["InstanceId"];
            power_state: components["schemas"]["PowerState"];
            /** @constant */
            driver?: "xen";
            hypervisor_os?: string;
            /** @description VM_metrics.current_domain_type (hvm, pv, pvh ...). */
            domain_type?: string;
            /** @description Seconds since the domain started (0 when halted). */
            uptime_s: number;
            cpus: {
                id: number;
                /** @description Fraction 0..1 (VM_metrics.VCPUs_utilisation). */
                utilisation: number;
                /** @description The physical CPU it last ran on. */
                pcpu?: number;
            }[];
            memory: {
                /** @description VM_metrics.memory_actual. */
                actual_mb: number;
                target_mb: number;
                /** @description memory_static_max. */
                max_mb: number;
                /** @description Reported by the guest agent, when it does. */
                guest_free_mb?: number;
            };
            disks: {
                device: string;
                uuid: string;
                size_gb: number;
                /** @description The VDI's physical_utilisation. */
                used_gb?: number;
                attached: boolean;
            }[];
            nics: {
                device: string;
                mac: string;
                network?: string;
                attached: boolean;
                /** @description Addresses the guest agent reports. */
                ips: string[];
            }[];
            /** @description What the guest agent reports (null without one). */
            guest: null | {
                os?: {
                    [key: string]: string;
                };
                pv_drivers_version?: {
                    [key: string]: string;
                };
                live?: boolean;
                last_updated?: components["schemas"]["Timestamp"];
            };
        };
        /** @description One event of the `/v1/events` stream (its `data:`). */
        LifecycleEvent: {
            /** @description The SSE id (increasing). */
            id: string;
            /** @enum {string} */
            type: "created" | "started" | "stopped" | "paused" | "resumed" | "suspended" | "deleted" | "migrated";
            instance_id: components["schemas"]["InstanceId"];
            at: components["schemas"]["Timestamp"];
            power_state: components["schemas"]["PowerState"];
            host: components["schemas"]["HostRef"] | null;
            /** @description For `migrated`, where the instance ran before. */
            from_host?: components["schemas"]["HostRef"] | null;
        };
    };
    responses: {
        /** @description The operation started (or, on a replay, is still running). */
        OperationAccepted: {
            headers: {
                Location: components["headers"]["Location"];
                "Preference-Applied": components["headers"]["PreferenceApplied"];
                [name: string]: unknown;
            };
            content: {
                "application/json": components["schemas"]["Operation"];
            };
        };
        /** @description The operation is final (within `Prefer: wait=N`, or a replay of a finished one). */
        OperationDone: {
            headers: {
                Location: components["headers"]["Location"];
                "Preference-Applied": components["headers"]["PreferenceApplied"];
                [name: string]: unknown;
            };
            content: {
                "application/json": components["schemas"]["Operation"];
            };
        };
        /** @description The request does not match the contract (`invalid_request`, with `errors[]`). */
        BadRequest: {
            headers: {
                [name: string]: unknown;
            };
            content: {
                "application/problem+json": components["schemas"]["Problem"];
            };
        };
        /** @description No bearer token, or an unknown one (`unauthorized`). */
        Unauthorized: {
            headers: {
                "WWW-Authenticate"?: string;
                [name: string]: unknown;
            };
            content: {
                "application/problem+json": components["schemas"]["Problem"];
            };
        };
        /** @description The token's role may not do this (`forbidden`). */
        Forbidden: {
            headers: {
                [name: string]: unknown;
            };
            content: {
                "application/problem+json": components["schemas"]["Problem"];
            };
        };
        /** @description Something named by the request does not exist for the caller. */
        NotFound: {
            headers: {
                [name: string]: unknown;
            };
            content: {
                "application/problem+json": components["schemas"]["Problem"];
            };
        };
        /** @description The request conflicts with the current state. */
        Conflict: {
            headers: {
                [name: string]: unknown;
            };
            content: {
                "application/problem+json": components["schemas"]["Problem"];
            };
        };
        /**
         * @description Any other error; among them `503 not_ready` (with `Retry-After`) until the service is
         *     ready, `429 instance_queue_full` (with `Retry-After`) when the instance has too many
         *     operations queued, and `415` for a body that is not UTF-8 JSON.
         */
        Error: {
            headers: {
                "Retry-After": components["headers"]["RetryAfter"];
                [name: string]: unknown;
            };
            content: {
                "application/problem+json": components["schemas"]["Problem"];
            };
        };
    };
    parameters: {
        /** @description The one-time token of a console answer. */
        ConsoleToken: string;
        /**
         * @description The orchestrator's id for the instance (Nova's instance uuid, CloudStack's
         *     `i-<acct>-<vm>-VM`, OpenNebula's VM id). Unique within a namespace.
         */
        InstanceId: components["schemas"]["InstanceId"];
        /**
         * @description RFC 7240 preferences; `wait=N` (seconds, 0..300) waits for the operation to finish.
         * @example wait=30
         */
        Prefer: string;
        /** @description The orchestrator's id for the image (Glance's image id, CloudStack's template uuid ...). Unique within a namespace. */
        ImageId: components["schemas"]["ImageId"];
        /** @description The disk format of the bytes (default `raw` for exports). */
        ImageFormatQuery: components["schemas"]["ImageFormat"];
        /** @description The disk's VBD device position. */
        DiskDevice: components["schemas"]["DeviceNumber"];
        /** @description The orchestrator's id for the snapshot (Nova's image id, CloudStack's snapshot uuid ...). Unique within an instance. */
        SnapshotId: components["schemas"]["SnapshotId"];
    };
    requestBodies: never;
    headers: {
        /** @description Seconds to wait before asking again. */
        RetryAfter: number;
        /** @description The preferences honoured (`wait=N`). */
        PreferenceApplied: string;
        /** @description The operation's URL. */
        Location: string;
    };
    pathItems: never;
}
export type $defs = Record<string, never>;
export interface operations {
    getHost: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The host view. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Host"];
                };
            };
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            default: components["responses"]["Error"];
        };
    };
    hostAction: {
        parameters: {
            query?: never;
            header?: {
                /**
                 * @description RFC 7240 preferences; `wait=N` (seconds, 0..300) waits for the operation to finish.
                 * @example wait=30
                 */
                Prefer?: components["parameters"]["Prefer"];
            };
            path: {
                /** @description The host's uuid, name_label or hostname. */
                host: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["HostAction"];
            };
        };
        responses: {
            200: components["responses"]["OperationDone"];
            202: components["responses"]["OperationAccepted"];
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            409: components["responses"]["Conflict"];
            default: components["responses"]["Error"];
        };
    };
    listTemplates: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Every template of the pool (the `xe template-list` of this API). */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        items: components["schemas"]["Template"][];
                    };
                };
            };
            401: components["responses"]["Unauthorized"];
            default: components["responses"]["Error"];
        };
    };
    listNetworks: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Every network of the pool. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        items: components["schemas"]["Network"][];
                    };
                };
            };
            401: components["responses"]["Unauthorized"];
            default: components["responses"]["Error"];
        };
    };
    createNetwork: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The network's name_label. */
                name: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["NetworkCreateRequest"];
            };
        };
        responses: {
            /** @description The network existed as asked. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Network"];
                };
            };
            /** @description The network was made. */
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Network"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            409: components["responses"]["Conflict"];
            default: components["responses"]["Error"];
        };
    };
    deleteNetwork: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The network's name_label. */
                name: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The network was removed. */
            204: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            409: components["responses"]["Conflict"];
            default: components["responses"]["Error"];
        };
    };
    listSrs: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Every storage repository of the pool but those the service introduced for iSCSI volumes. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        items: components["schemas"]["SR"][];
                    };
                };
            };
            401: components["responses"]["Unauthorized"];
            default: components["responses"]["Error"];
        };
    };
    listInstances: {
        parameters: {
            query?: {
                /** @description Only instances in this normalized power state. */
                power_state?: components["schemas"]["PowerState"];
                limit?: number;
                offset?: number;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description One page of instances. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["InstancePage"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            default: components["responses"]["Error"];
        };
    };
    getInstance: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /**
                 * @description The orchestrator's id for the instance (Nova's instance uuid, CloudStack's
                 *     `i-<acct>-<vm>-VM`, OpenNebula's VM id). Unique within a namespace.
                 */
                instance_id: components["parameters"]["InstanceId"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The instance. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Instance"];
                };
            };
            401: components["responses"]["Unauthorized"];
            404: components["responses"]["NotFound"];
            default: components["responses"]["Error"];
        };
    };
    spawnInstance: {
        parameters: {
            query?: never;
            header?: {
                /**
                 * @description RFC 7240 preferences; `wait=N` (seconds, 0..300) waits for the operation to finish.
                 * @example wait=30
                 */
                Prefer?: components["parameters"]["Prefer"];
            };
            path: {
                /**
                 * @description The orchestrator's id for the instance (Nova's instance uuid, CloudStack's
                 *     `i-<acct>-<vm>-VM`, OpenNebula's VM id). Unique within a namespace.
                 */
                instance_id: components["parameters"]["InstanceId"];
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["SpawnRequest"];
            };
        };
        responses: {
            200: components["responses"]["OperationDone"];
            202: components["responses"]["OperationAccepted"];
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            409: components["responses"]["Conflict"];
            default: components["responses"]["Error"];
        };
    };
    destroyInstance: {
        parameters: {
            query?: {
                /** @description Keep the instance's VDIs (untagged) instead of destroying them. */
                keep_disks?: boolean;
            };
            header?: {
                /**
                 * @description RFC 7240 preferences; `wait=N` (seconds, 0..300) waits for the operation to finish.
                 * @example wait=30
                 */
                Prefer?: components["parameters"]["Prefer"];
            };
            path: {
                /**
                 * @description The orchestrator's id for the instance (Nova's instance uuid, CloudStack's
                 *     `i-<acct>-<vm>-VM`, OpenNebula's VM id). Unique within a namespace.
                 */
                instance_id: components["parameters"]["InstanceId"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: components["responses"]["OperationDone"];
            202: components["responses"]["OperationAccepted"];
            /** @description The instance did not exist (or no longer does); nothing to do. */
            204: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            409: components["responses"]["Conflict"];
            default: components["responses"]["Error"];
        };
    };
    instanceAction: {
        parameters: {
            query?: never;
            header?: {
                /**
                 * @description RFC 7240 preferences; `wait=N` (seconds, 0..300) waits for the operation to finish.
                 * @example wait=30
                 */
                Prefer?: components["parameters"]["Prefer"];
            };
            path: {
                /**
                 * @description The orchestrator's id for the instance (Nova's instance uuid, CloudStack's
                 *     `i-<acct>-<vm>-VM`, OpenNebula's VM id). Unique within a namespace.
                 */
                instance_id: components["parameters"]["InstanceId"];
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["InstanceAction"];
            };
        };
        responses: {
            200: components["responses"]["OperationDone"];
            202: components["responses"]["OperationAccepted"];
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            409: components["responses"]["Conflict"];
            default: components["responses"]["Error"];
        };
    };
    listInstanceOperations: {
        parameters: {
            query?: {
                status?: components["schemas"]["OperationStatus"];
            };
            header?: never;
            path: {
                /**
                 * @description The orchestrator's id for the instance (Nova's instance uuid, CloudStack's
                 *     `i-<acct>-<vm>-VM`, OpenNebula's VM id). Unique within a namespace.
                 */
                instance_id: components["parameters"]["InstanceId"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The operations. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        items: components["schemas"]["Operation"][];
                    };
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            404: components["responses"]["NotFound"];
            default: components["responses"]["Error"];
        };
    };
    getOperation: {
        parameters: {
            query?: never;
            header?: {
                /**
                 * @description RFC 7240 preferences; `wait=N` (seconds, 0..300) waits for the operation to finish.
                 * @example wait=30
                 */
                Prefer?: components["parameters"]["Prefer"];
            };
            path: {
                operation_id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The operation. */
            200: {
                headers: {
                    "Preference-Applied": components["headers"]["PreferenceApplied"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Operation"];
                };
            };
            401: components["responses"]["Unauthorized"];
            404: components["responses"]["NotFound"];
            default: components["responses"]["Error"];
        };
    };
    cancelOperation: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                operation_id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The operation after the cancel request. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Operation"];
                };
            };
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            409: components["responses"]["Conflict"];
            default: components["responses"]["Error"];
        };
    };
    listSnapshots: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /**
                 * @description The orchestrator's id for the instance (Nova's instance uuid, CloudStack's
                 *     `i-<acct>-<vm>-VM`, OpenNebula's VM id). Unique within a namespace.
                 */
                instance_id: components["parameters"]["InstanceId"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Every snapshot of the instance. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        items: components["schemas"]["Snapshot"][];
                    };
                };
            };
            401: components["responses"]["Unauthorized"];
            404: components["responses"]["NotFound"];
            default: components["responses"]["Error"];
        };
    };
    getSnapshot: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /**
                 * @description The orchestrator's id for the instance (Nova's instance uuid, CloudStack's
                 *     `i-<acct>-<vm>-VM`, OpenNebula's VM id). Unique within a namespace.
                 */
                instance_id: components["parameters"]["InstanceId"];
                /** @description The orchestrator's id for the snapshot (Nova's image id, CloudStack's snapshot uuid ...). Unique within an instance. */
                snapshot_id: components["parameters"]["SnapshotId"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The snapshot. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Snapshot"];
                };
            };
            401: components["responses"]["Unauthorized"];
            404: components["responses"]["NotFound"];
            default: components["responses"]["Error"];
        };
    };
    createSnapshot: {
        parameters: {
            query?: never;
            header?: {
                /**
                 * @description RFC 7240 preferences; `wait=N` (seconds, 0..300) waits for the operation to finish.
                 * @example wait=30
                 */
                Prefer?: components["parameters"]["Prefer"];
            };
            path: {
                /**
                 * @description The orchestrator's id for the instance (Nova's instance uuid, CloudStack's
                 *     `i-<acct>-<vm>-VM`, OpenNebula's VM id). Unique within a namespace.
                 */
                instance_id: components["parameters"]["InstanceId"];
                /** @description The orchestrator's id for the snapshot (Nova's image id, CloudStack's snapshot uuid ...). Unique within an instance. */
                snapshot_id: components["parameters"]["SnapshotId"];
            };
            cookie?: never;
        };
        requestBody?: {
            content: {
                "application/json": components["schemas"]["SnapshotRequest"];
            };
        };
        responses: {
            200: components["responses"]["OperationDone"];
            202: components["responses"]["OperationAccepted"];
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            409: components["responses"]["Conflict"];
            default: components["responses"]["Error"];
        };
    };
    deleteSnapshot: {
        parameters: {
            query?: never;
            header?: {
                /**
                 * @description RFC 7240 preferences; `wait=N` (seconds, 0..300) waits for the operation to finish.
                 * @example wait=30
                 */
                Prefer?: components["parameters"]["Prefer"];
            };
            path: {
                /**
                 * @description The orchestrator's id for the instance (Nova's instance uuid, CloudStack's
                 *     `i-<acct>-<vm>-VM`, OpenNebula's VM id). Unique within a namespace.
                 */
                instance_id: components["parameters"]["InstanceId"];
                /** @description The orchestrator's id for the snapshot (Nova's image id, CloudStack's snapshot uuid ...). Unique within an instance. */
                snapshot_id: components["parameters"]["SnapshotId"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: components["responses"]["OperationDone"];
            202: components["responses"]["OperationAccepted"];
            /** @description The snapshot did not exist (or no longer does); nothing to do. */
            204: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            409: components["responses"]["Conflict"];
            default: components["responses"]["Error"];
        };
    };
    revertSnapshot: {
        parameters: {
            query?: never;
            header?: {
                /**
                 * @description RFC 7240 preferences; `wait=N` (seconds, 0..300) waits for the operation to finish.
                 * @example wait=30
                 */
                Prefer?: components["parameters"]["Prefer"];
            };
            path: {
                /**
                 * @description The orchestrator's id for the instance (Nova's instance uuid, CloudStack's
                 *     `i-<acct>-<vm>-VM`, OpenNebula's VM id). Unique within a namespace.
                 */
                instance_id: components["parameters"]["InstanceId"];
                /** @description The orchestrator's id for the snapshot (Nova's image id, CloudStack's snapshot uuid ...). Unique within an instance. */
                snapshot_id: components["parameters"]["SnapshotId"];
            };
            cookie?: never;
        };
        requestBody?: {
            content: {
                "application/json": components["schemas"]["RevertRequest"];
            };
        };
        responses: {
            200: components["responses"]["OperationDone"];
            202: components["responses"]["OperationAccepted"];
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            409: components["responses"]["Conflict"];
            default: components["responses"]["Error"];
        };
    };
    listVolumes: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /**
                 * @description The orchestrator's id for the instance (Nova's instance uuid, CloudStack's
                 *     `i-<acct>-<vm>-VM`, OpenNebula's VM id). Unique within a namespace.
                 */
                instance_id: components["parameters"]["InstanceId"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The attached volumes. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        items: components["schemas"]["Volume"][];
                    };
                };
            };
            401: components["responses"]["Unauthorized"];
            404: components["responses"]["NotFound"];
            default: components["responses"]["Error"];
        };
    };
    attachVolume: {
        parameters: {
            query?: never;
            header?: {
                /**
                 * @description RFC 7240 preferences; `wait=N` (seconds, 0..300) waits for the operation to finish.
                 * @example wait=30
                 */
                Prefer?: components["parameters"]["Prefer"];
            };
            path: {
                /**
                 * @description The orchestrator's id for the instance (Nova's instance uuid, CloudStack's
                 *     `i-<acct>-<vm>-VM`, OpenNebula's VM id). Unique within a namespace.
                 */
                instance_id: components["parameters"]["InstanceId"];
                /**
                 * @description With a `connection`: the orchestrator's id of the volume (Cinder's volume id), which
                 *     names the attachment from then on. Without one: the uuid of an existing VDI.
                 */
                volume_id: components["schemas"]["VolumeId"];
            };
            cookie?: never;
        };
        requestBody?: {
            content: {
                "application/json": components["schemas"]["VolumeAttachRequest"];
            };
        };
        responses: {
            200: components["responses"]["OperationDone"];
            202: components["responses"]["OperationAccepted"];
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            409: components["responses"]["Conflict"];
            default: components["responses"]["Error"];
        };
    };
    detachVolume: {
        parameters: {
            query?: never;
            header?: {
                /**
                 * @description RFC 7240 preferences; `wait=N` (seconds, 0..300) waits for the operation to finish.
                 * @example wait=30
                 */
                Prefer?: components["parameters"]["Prefer"];
            };
            path: {
                /**
                 * @description The orchestrator's id for the instance (Nova's instance uuid, CloudStack's
                 *     `i-<acct>-<vm>-VM`, OpenNebula's VM id). Unique within a namespace.
                 */
                instance_id: components["parameters"]["InstanceId"];
                /**
                 * @description With a `connection`: the orchestrator's id of the volume (Cinder's volume id), which
                 *     names the attachment from then on. Without one: the uuid of an existing VDI.
                 */
                volume_id: components["schemas"]["VolumeId"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: components["responses"]["OperationDone"];
            202: components["responses"]["OperationAccepted"];
            /** @description The volume was not attached; nothing to do. */
            204: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            409: components["responses"]["Conflict"];
            default: components["responses"]["Error"];
        };
    };
    addDisk: {
        parameters: {
            query?: never;
            header?: {
                /**
                 * @description RFC 7240 preferences; `wait=N` (seconds, 0..300) waits for the operation to finish.
                 * @example wait=30
                 */
                Prefer?: components["parameters"]["Prefer"];
            };
            path: {
                /**
                 * @description The orchestrator's id for the instance (Nova's instance uuid, CloudStack's
                 *     `i-<acct>-<vm>-VM`, OpenNebula's VM id). Unique within a namespace.
                 */
                instance_id: components["parameters"]["InstanceId"];
                /** @description The VBD's device position. */
                device: components["schemas"]["DeviceNumber"];
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["DiskAddRequest"];
            };
        };
        responses: {
            200: components["responses"]["OperationDone"];
            202: components["responses"]["OperationAccepted"];
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            409: components["responses"]["Conflict"];
            default: components["responses"]["Error"];
        };
    };
    removeDisk: {
        parameters: {
            query?: never;
            header?: {
                /**
                 * @description RFC 7240 preferences; `wait=N` (seconds, 0..300) waits for the operation to finish.
                 * @example wait=30
                 */
                Prefer?: components["parameters"]["Prefer"];
            };
            path: {
                /**
                 * @description The orchestrator's id for the instance (Nova's instance uuid, CloudStack's
                 *     `i-<acct>-<vm>-VM`, OpenNebula's VM id). Unique within a namespace.
                 */
                instance_id: components["parameters"]["InstanceId"];
                /** @description The VBD's device position. */
                device: components["schemas"]["DeviceNumber"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: components["responses"]["OperationDone"];
            202: components["responses"]["OperationAccepted"];
            /** @description No disk at this device; nothing to do. */
            204: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            409: components["responses"]["Conflict"];
            default: components["responses"]["Error"];
        };
    };
    updateConfigDrive: {
        parameters: {
            query?: never;
            header?: {
                /**
                 * @description RFC 7240 preferences; `wait=N` (seconds, 0..300) waits for the operation to finish.
                 * @example wait=30
                 */
                Prefer?: components["parameters"]["Prefer"];
            };
            path: {
                /**
                 * @description The orchestrator's id for the instance (Nova's instance uuid, CloudStack's
                 *     `i-<acct>-<vm>-VM`, OpenNebula's VM id). Unique within a namespace.
                 */
                instance_id: components["parameters"]["InstanceId"];
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["ConfigDriveRequest"];
            };
        };
        responses: {
            200: components["responses"]["OperationDone"];
            202: components["responses"]["OperationAccepted"];
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            409: components["responses"]["Conflict"];
            default: components["responses"]["Error"];
        };
    };
    listDiskSnapshots: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /**
                 * @description The orchestrator's id for the instance (Nova's instance uuid, CloudStack's
                 *     `i-<acct>-<vm>-VM`, OpenNebula's VM id). Unique within a namespace.
                 */
                instance_id: components["parameters"]["InstanceId"];
                /** @description The disk's VBD device position. */
                device: components["parameters"]["DiskDevice"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Every snapshot of the disk. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        items: components["schemas"]["DiskSnapshot"][];
                    };
                };
            };
            401: components["responses"]["Unauthorized"];
            404: components["responses"]["NotFound"];
            default: components["responses"]["Error"];
        };
    };
    createDiskSnapshot: {
        parameters: {
            query?: never;
            header?: {
                /**
                 * @description RFC 7240 preferences; `wait=N` (seconds, 0..300) waits for the operation to finish.
                 * @example wait=30
                 */
                Prefer?: components["parameters"]["Prefer"];
            };
            path: {
                /**
                 * @description The orchestrator's id for the instance (Nova's instance uuid, CloudStack's
                 *     `i-<acct>-<vm>-VM`, OpenNebula's VM id). Unique within a namespace.
                 */
                instance_id: components["parameters"]["InstanceId"];
                /** @description The disk's VBD device position. */
                device: components["parameters"]["DiskDevice"];
                /** @description The orchestrator's id for the snapshot (Nova's image id, CloudStack's snapshot uuid ...). Unique within an instance. */
                snapshot_id: components["parameters"]["SnapshotId"];
            };
            cookie?: never;
        };
        requestBody?: {
            content: {
                "application/json": components["schemas"]["DiskSnapshotRequest"];
            };
        };
        responses: {
            200: components["responses"]["OperationDone"];
            202: components["responses"]["OperationAccepted"];
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            409: components["responses"]["Conflict"];
            default: components["responses"]["Error"];
        };
    };
    deleteDiskSnapshot: {
        parameters: {
            query?: never;
            header?: {
                /**
                 * @description RFC 7240 preferences; `wait=N` (seconds, 0..300) waits for the operation to finish.
                 * @example wait=30
                 */
                Prefer?: components["parameters"]["Prefer"];
            };
            path: {
                /**
                 * @description The orchestrator's id for the instance (Nova's instance uuid, CloudStack's
                 *     `i-<acct>-<vm>-VM`, OpenNebula's VM id). Unique within a namespace.
                 */
                instance_id: components["parameters"]["InstanceId"];
                /** @description The disk's VBD device position. */
                device: components["parameters"]["DiskDevice"];
                /** @description The orchestrator's id for the snapshot (Nova's image id, CloudStack's snapshot uuid ...). Unique within an instance. */
                snapshot_id: components["parameters"]["SnapshotId"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: components["responses"]["OperationDone"];
            202: components["responses"]["OperationAccepted"];
            /** @description The snapshot did not exist (or no longer does); nothing to do. */
            204: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            409: components["responses"]["Conflict"];
            default: components["responses"]["Error"];
        };
    };
    revertDiskSnapshot: {
        parameters: {
            query?: never;
            header?: {
                /**
                 * @description RFC 7240 preferences; `wait=N` (seconds, 0..300) waits for the operation to finish.
                 * @example wait=30
                 */
                Prefer?: components["parameters"]["Prefer"];
            };
            path: {
                /**
                 * @description The orchestrator's id for the instance (Nova's instance uuid, CloudStack's
                 *     `i-<acct>-<vm>-VM`, OpenNebula's VM id). Unique within a namespace.
                 */
                instance_id: components["parameters"]["InstanceId"];
                /** @description The disk's VBD device position. */
                device: components["parameters"]["DiskDevice"];
                /** @description The orchestrator's id for the snapshot (Nova's image id, CloudStack's snapshot uuid ...). Unique within an instance. */
                snapshot_id: components["parameters"]["SnapshotId"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: components["responses"]["OperationDone"];
            202: components["responses"]["OperationAccepted"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            409: components["responses"]["Conflict"];
            default: components["responses"]["Error"];
        };
    };
    listNics: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /**
                 * @description The orchestrator's id for the instance (Nova's instance uuid, CloudStack's
                 *     `i-<acct>-<vm>-VM`, OpenNebula's VM id). Unique within a namespace.
                 */
                instance_id: components["parameters"]["InstanceId"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Every NIC, by device. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": {
                        items: components["schemas"]["NicAttachment"][];
                    };
                };
            };
            401: components["responses"]["Unauthorized"];
            404: components["responses"]["NotFound"];
            default: components["responses"]["Error"];
        };
    };
    attachNic: {
        parameters: {
            query?: never;
            header?: {
                /**
                 * @description RFC 7240 preferences; `wait=N` (seconds, 0..300) waits for the operation to finish.
                 * @example wait=30
                 */
                Prefer?: components["parameters"]["Prefer"];
            };
            path: {
                /**
                 * @description The orchestrator's id for the instance (Nova's instance uuid, CloudStack's
                 *     `i-<acct>-<vm>-VM`, OpenNebula's VM id). Unique within a namespace.
                 */
                instance_id: components["parameters"]["InstanceId"];
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["NicAttachRequest"];
            };
        };
        responses: {
            200: components["responses"]["OperationDone"];
            202: components["responses"]["OperationAccepted"];
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            409: components["responses"]["Conflict"];
            default: components["responses"]["Error"];
        };
    };
    detachNic: {
        parameters: {
            query?: never;
            header?: {
                /**
                 * @description RFC 7240 preferences; `wait=N` (seconds, 0..300) waits for the operation to finish.
                 * @example wait=30
                 */
                Prefer?: components["parameters"]["Prefer"];
            };
            path: {
                /**
                 * @description The orchestrator's id for the instance (Nova's instance uuid, CloudStack's
                 *     `i-<acct>-<vm>-VM`, OpenNebula's VM id). Unique within a namespace.
                 */
                instance_id: components["parameters"]["InstanceId"];
                /** @description The VIF's device number. */
                device: components["schemas"]["DeviceNumber"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            200: components["responses"]["OperationDone"];
            202: components["responses"]["OperationAccepted"];
            /** @description No NIC at this device; nothing to do. */
            204: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            409: components["responses"]["Conflict"];
            default: components["responses"]["Error"];
        };
    };
    getConsole: {
        parameters: {
            query?: {
                /** @description The form of the console (default `vnc`). */
                type?: "vnc" | "tunnel" | "websocket" | "url" | "xapi";
            };
            header?: never;
            path: {
                /**
                 * @description The orchestrator's id for the instance (Nova's instance uuid, CloudStack's
                 *     `i-<acct>-<vm>-VM`, OpenNebula's VM id). Unique within a namespace.
                 */
                instance_id: components["parameters"]["InstanceId"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The console. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Console"];
                };
            };
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            409: components["responses"]["Conflict"];
            /** @description Too many consoles of the instance or the namespace (`too_many_consoles`). */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            default: components["responses"]["Error"];
        };
    };
    connectConsoleWebSocket: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The one-time token of a console answer. */
                console_token: components["parameters"]["ConsoleToken"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Switching to the WebSocket protocol; RFB follows. */
            101: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description No console with this token (`console_token_invalid`), or the instance is gone. */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            409: components["responses"]["Conflict"];
            /** @description Not a WebSocket upgrade (`upgrade_required`). */
            426: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            default: components["responses"]["Error"];
        };
    };
    getConsolePage: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The one-time token of a console answer. */
                console_token: components["parameters"]["ConsoleToken"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The page. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "text/html": string;
                };
            };
            /** @description No console with this token (`console_token_invalid`). */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
            default: components["responses"]["Error"];
        };
    };
    getConsoleLog: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /**
                 * @description The orchestrator's id for the instance (Nova's instance uuid, CloudStack's
                 *     `i-<acct>-<vm>-VM`, OpenNebula's VM id). Unique within a namespace.
                 */
                instance_id: components["parameters"]["InstanceId"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The console log text. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ConsoleLog"];
                };
            };
            401: components["responses"]["Unauthorized"];
            404: components["responses"]["NotFound"];
            default: components["responses"]["Error"];
        };
    };
    getDiagnostics: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /**
                 * @description The orchestrator's id for the instance (Nova's instance uuid, CloudStack's
                 *     `i-<acct>-<vm>-VM`, OpenNebula's VM id). Unique within a namespace.
                 */
                instance_id: components["parameters"]["InstanceId"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The diagnostics. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Diagnostics"];
                };
            };
            401: components["responses"]["Unauthorized"];
            404: components["responses"]["NotFound"];
            default: components["responses"]["Error"];
        };
    };
    streamEvents: {
        parameters: {
            query?: {
                /** @description The same as the header, for clients that cannot set it. */
                last_event_id?: string;
                /** @description Only this instance's events. */
                instance_id?: components["schemas"]["InstanceId"];
            };
            header?: {
                "Last-Event-ID"?: string;
            };
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The event stream (open until the client leaves). */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "text/event-stream": string;
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            default: components["responses"]["Error"];
        };
    };
    listImages: {
        parameters: {
            query?: {
                limit?: number;
                offset?: number;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description One page of images. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ImagePage"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            default: components["responses"]["Error"];
        };
    };
    getImage: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The orchestrator's id for the image (Glance's image id, CloudStack's template uuid ...). Unique within a namespace. */
                image_id: components["parameters"]["ImageId"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The image. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Image"];
                };
            };
            401: components["responses"]["Unauthorized"];
            404: components["responses"]["NotFound"];
            default: components["responses"]["Error"];
        };
    };
    importImage: {
        parameters: {
            query?: {
                /** @description The disk format of the bytes (default `raw` for exports). */
                format?: components["parameters"]["ImageFormatQuery"];
                name?: string;
                /** @description SR uuid for the first copy (default: the pool's default SR). */
                sr?: string;
                checksum?: components["schemas"]["ImageChecksum"];
            };
            header?: {
                /**
                 * @description RFC 7240 preferences; `wait=N` (seconds, 0..300) waits for the operation to finish.
                 * @example wait=30
                 */
                Prefer?: components["parameters"]["Prefer"];
            };
            path: {
                /** @description The orchestrator's id for the image (Glance's image id, CloudStack's template uuid ...). Unique within a namespace. */
                image_id: components["parameters"]["ImageId"];
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/octet-stream": string;
                "application/json": components["schemas"]["ImageImportRequest"];
            };
        };
        responses: {
            200: components["responses"]["OperationDone"];
            202: components["responses"]["OperationAccepted"];
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            409: components["responses"]["Conflict"];
            default: components["responses"]["Error"];
        };
    };
    deleteImage: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The orchestrator's id for the image (Glance's image id, CloudStack's template uuid ...). Unique within a namespace. */
                image_id: components["parameters"]["ImageId"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The image is gone. */
            204: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            409: components["responses"]["Conflict"];
            default: components["responses"]["Error"];
        };
    };
    updateImage: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The orchestrator's id for the image (Glance's image id, CloudStack's template uuid ...). Unique within a namespace. */
                image_id: components["parameters"]["ImageId"];
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["ImageUpdate"];
            };
        };
        responses: {
            /** @description The image. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Image"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            409: components["responses"]["Conflict"];
            default: components["responses"]["Error"];
        };
    };
    exportImage: {
        parameters: {
            query?: {
                /** @description The disk format of the bytes (default `raw` for exports). */
                format?: components["parameters"]["ImageFormatQuery"];
            };
            header?: never;
            path: {
                /** @description The orchestrator's id for the image (Glance's image id, CloudStack's template uuid ...). Unique within a namespace. */
                image_id: components["parameters"]["ImageId"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The image (`Content-Length` when XAPI gives it). */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/octet-stream": string;
                };
            };
            401: components["responses"]["Unauthorized"];
            404: components["responses"]["NotFound"];
            409: components["responses"]["Conflict"];
            default: components["responses"]["Error"];
        };
    };
    exportSnapshotDisk: {
        parameters: {
            query?: {
                /** @description The disk format of the bytes (default `raw` for exports). */
                format?: components["parameters"]["ImageFormatQuery"];
            };
            header?: never;
            path: {
                /**
                 * @description The orchestrator's id for the instance (Nova's instance uuid, CloudStack's
                 *     `i-<acct>-<vm>-VM`, OpenNebula's VM id). Unique within a namespace.
                 */
                instance_id: components["parameters"]["InstanceId"];
                /** @description The orchestrator's id for the snapshot (Nova's image id, CloudStack's snapshot uuid ...). Unique within an instance. */
                snapshot_id: components["parameters"]["SnapshotId"];
                /** @description The disk's device position in the snapshot (`0` is the root disk). */
                device: components["schemas"]["DeviceNumber"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The disk's bytes. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/octet-stream": string;
                };
            };
            401: components["responses"]["Unauthorized"];
            404: components["responses"]["NotFound"];
            default: components["responses"]["Error"];
        };
    };
    exportDiskSnapshot: {
        parameters: {
            query?: {
                /** @description The disk format of the bytes (default `raw` for exports). */
                format?: components["parameters"]["ImageFormatQuery"];
            };
            header?: never;
            path: {
                /**
                 * @description The orchestrator's id for the instance (Nova's instance uuid, CloudStack's
                 *     `i-<acct>-<vm>-VM`, OpenNebula's VM id). Unique within a namespace.
                 */
                instance_id: components["parameters"]["InstanceId"];
                /** @description The disk's VBD device position. */
                device: components["parameters"]["DiskDevice"];
                /** @description The orchestrator's id for the snapshot (Nova's image id, CloudStack's snapshot uuid ...). Unique within an instance. */
                snapshot_id: components["parameters"]["SnapshotId"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The snapshot's bytes. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/octet-stream": string;
                };
            };
            401: components["responses"]["Unauthorized"];
            404: components["responses"]["NotFound"];
            default: components["responses"]["Error"];
        };
    };
    healthz: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Alive. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Health"];
                };
            };
        };
    };
    readyz: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Ready. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Health"];
                };
            };
            /** @description Not ready (`not_ready`), with `Retry-After`. */
            503: {
                headers: {
                    "Retry-After": components["headers"]["RetryAfter"];
                    [name: string]: unknown;
                };
                content: {
                    "application/problem+json": components["schemas"]["Problem"];
                };
            };
        };
    };
    metrics: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Metrics in the Prometheus text format. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "text/plain": string;
                };
            };
        };
    };
    openapi: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The OpenAPI document. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": Record<string, never>;
                };
            };
        };
    };
}
