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
        /** Networks a NIC can join */
        get: operations["listNetworks"];
        put?: never;
        post?: never;
        delete?: never;
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
    "/healthz": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Liveness (the process answers) */
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
        /** Readiness (XAPI session up and mirror synced) */
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
        MacAddress: string;
        Health: {
            /** @enum {string} */
            status: "ok";
            /** @description The XAPI URL the service talks to. */
            xapi?: string;
            version?: string;
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
            /** @description The XAPI error behind this problem, verbatim. */
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
        ErrorCode: "unauthorized" | "forbidden" | "invalid_request" | "not_found" | "method_not_allowed" | "unsupported_media_type" | "instance_not_found" | "operation_not_found" | "template_not_found" | "image_not_found" | "network_not_found" | "sr_not_found" | "host_not_found" | "conflict_spawn_mismatch" | "instance_busy" | "invalid_power_state" | "operation_finished" | "insufficient_memory" | "no_host_available" | "operation_in_progress" | "operation_blocked" | "operation_not_allowed" | "guest_lacks_feature" | "disk_in_use" | "cancelled" | "invalid_value" | "licence_restriction" | "insufficient_storage" | "shutdown_timeout" | "xapi_error" | "xapi_unavailable" | "timeout" | "internal_error";
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
            enabled: boolean;
            live: boolean;
            master: boolean;
            vcpus: components["schemas"]["UsedTotal"];
            memory_mb: components["schemas"]["UsedTotalFree"];
            running_instances?: number;
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
         * @description Exactly one of `template` and `image_vdi`. vCPUs and memory default to the template's
         *     (for an image, 1 vCPU and 512 MiB). `user_data` and `metadata` are delivered on a config
         *     drive (an ISO VDI labelled `config-2`, attached as a CD); without them no drive is made.
         */
        SpawnRequest: {
            /** @description The VM's name_label (default the instance id). */
            name?: string;
            /** @description A template's uuid or name_label. */
            template?: string;
            /** @description The uuid of a VDI to copy as the root disk (on a blank HVM VM). */
            image_vdi?: string;
            vcpus?: number;
            memory_mb?: number;
            /** @description Grow the root disk to this size. */
            root_disk_gb?: number;
            /** @description SR uuid for the root disk and config drive (default: the pool's default SR). */
            sr?: string;
            disks?: components["schemas"]["DiskRequest"][];
            nics?: components["schemas"]["NicRequest"][];
            /** @description Base64 user data (at most 64 KiB decoded). */
            user_data?: string;
            /** @description Free-form metadata written to the config drive (meta_data.json). */
            metadata?: {
                [key: string]: unknown;
            };
            /** @default true */
            power_on?: boolean;
        } & (unknown | unknown);
        DiskRequest: {
            size_gb: number;
            /** @description SR uuid (default: the pool's default SR). */
            sr?: string;
        };
        NicRequest: {
            /** @description A network's uuid, name_label or bridge. */
            network: string;
            mac?: components["schemas"]["MacAddress"];
        };
        /** @description A power action, tagged by `action`. More actions join this union later. */
        InstanceAction: components["schemas"]["RebootAction"] | components["schemas"]["PowerOffAction"] | components["schemas"]["PowerOnAction"];
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
            vcpus: number;
            memory_mb: number;
            disks: components["schemas"]["Disk"][];
            nics: components["schemas"]["Nic"][];
            /** @description Where the instance runs (null when halted). */
            host: components["schemas"]["HostRef"] | null;
            /** @description The template or image it was spawned from. */
            template?: string;
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
        OperationKind: "spawn" | "destroy" | "reboot" | "power-off" | "power-on";
        /** @enum {string} */
        OperationStatus: "running" | "succeeded" | "failed" | "cancelled";
        Operation: {
            id: string;
            kind: components["schemas"]["OperationKind"];
            instance_id: components["schemas"]["InstanceId"];
            status: components["schemas"]["OperationStatus"];
            /** @description Follows the XAPI task's progress. */
            progress: number;
            /** @description The step running now (spawn, destroy). */
            step?: string;
            created_at: components["schemas"]["Timestamp"];
            finished_at: components["schemas"]["Timestamp"] | null;
            /** @description Why it failed (null unless failed or cancelled). */
            error: components["schemas"]["Problem"] | null;
            /** @description The instance after the operation (null until it succeeds, and for a destroy). */
            result: components["schemas"]["Instance"] | null;
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
        /** @description Any other error. */
        Error: {
            headers: {
                [name: string]: unknown;
            };
            content: {
                "application/problem+json": components["schemas"]["Problem"];
            };
        };
    };
    parameters: {
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
    };
    requestBodies: never;
    headers: {
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
    listSrs: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Every storage repository of the pool. */
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
            /** @description Not ready. */
            503: {
                headers: {
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
