export const id = 14;
export const ids = [14];
export const modules = {

/***/ 7014:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {

__webpack_require__.r(__webpack_exports__);
/* harmony export */ __webpack_require__.d(__webpack_exports__, {
/* harmony export */   loadedComputeClients: () => (/* binding */ loadedComputeClients)
/* harmony export */ });
/* harmony import */ var _google_cloud_compute_build_src_v1_addresses_client_js__WEBPACK_IMPORTED_MODULE_0__ = __webpack_require__(2635);
/* harmony import */ var _google_cloud_compute_build_src_v1_disks_client_js__WEBPACK_IMPORTED_MODULE_1__ = __webpack_require__(1601);
/* harmony import */ var _google_cloud_compute_build_src_v1_global_operations_client_js__WEBPACK_IMPORTED_MODULE_2__ = __webpack_require__(8773);
/* harmony import */ var _google_cloud_compute_build_src_v1_region_disks_client_js__WEBPACK_IMPORTED_MODULE_3__ = __webpack_require__(4140);
/* harmony import */ var _google_cloud_compute_build_src_v1_region_operations_client_js__WEBPACK_IMPORTED_MODULE_4__ = __webpack_require__(1766);
/* harmony import */ var _google_cloud_compute_build_src_v1_resource_policies_client_js__WEBPACK_IMPORTED_MODULE_5__ = __webpack_require__(4642);
/* harmony import */ var _google_cloud_compute_build_src_v1_snapshots_client_js__WEBPACK_IMPORTED_MODULE_6__ = __webpack_require__(9440);
/* harmony import */ var _google_cloud_compute_build_src_v1_zone_operations_client_js__WEBPACK_IMPORTED_MODULE_7__ = __webpack_require__(9276);
/* harmony import */ var google_gax__WEBPACK_IMPORTED_MODULE_8__ = __webpack_require__(3232);
/* harmony import */ var google_gax__WEBPACK_IMPORTED_MODULE_8___default = /*#__PURE__*/__webpack_require__.n(google_gax__WEBPACK_IMPORTED_MODULE_8__);
/* harmony import */ var _computeProtos_js__WEBPACK_IMPORTED_MODULE_9__ = __webpack_require__(3986);
// The Compute client library, loaded on demand (compute.ts imports this module dynamically, so the bundle keeps
// it in a chunk of its own): google-gax, google-auth-library and the clients are ~3 MB of code to evaluate.
// Only the clients used: the package root pulls in every Compute client (a 50 MB bundle).










const CLOUD_PLATFORM = 'https://www.googleapis.com/auth/cloud-platform';
const roots = new WeakMap();
/**
 * Each client hands gax the package's descriptors; this builds a root of only the calls the action makes
 * (see computeProtos.ts), once per descriptor object. In the bundle they are trimmed already (scripts/build.ts).
 */
class TrimmedGrpcClient extends google_gax__WEBPACK_IMPORTED_MODULE_8__.fallback.GrpcClient {
    loadProtoJSON(json) {
        let root = roots.get(json);
        if (!root) {
            root = google_gax__WEBPACK_IMPORTED_MODULE_8__.fallback.protobuf.Root.fromJSON((0,_computeProtos_js__WEBPACK_IMPORTED_MODULE_9__/* .trimComputeProtos */ .bT)(json));
            roots.set(json, root);
        }
        return root;
    }
}
// The clients' documented way to choose the transport (their second argument), here with the trimmed root.
const gaxInstance = { ...google_gax__WEBPACK_IMPORTED_MODULE_8__, fallback: { ...google_gax__WEBPACK_IMPORTED_MODULE_8__.fallback, GrpcClient: TrimmedGrpcClient } };
/** The clients, each built on first use and sharing one set of credentials. */
function loadedComputeClients(options) {
    let sharedAuth = options.auth;
    const clientOptions = () => {
        if (options.authClient)
            return { ...options.base, authClient: options.authClient };
        // One GoogleAuth for all clients, so the credentials (e.g. a workload identity token exchange) are fetched once.
        return sharedAuth ? { ...options.base, auth: sharedAuth } : { ...options.base, scopes: [CLOUD_PLATFORM] };
    };
    const lazy = (make) => {
        let client;
        return () => {
            if (!client) {
                client = make(clientOptions());
                if (!options.authClient)
                    sharedAuth ??= client.auth;
            }
            return client;
        };
    };
    const disks = lazy((o) => new _google_cloud_compute_build_src_v1_disks_client_js__WEBPACK_IMPORTED_MODULE_1__/* .DisksClient */ .g(o, gaxInstance));
    const regionDisks = lazy((o) => new _google_cloud_compute_build_src_v1_region_disks_client_js__WEBPACK_IMPORTED_MODULE_3__/* .RegionDisksClient */ .S(o, gaxInstance));
    const zoneOperations = lazy((o) => new _google_cloud_compute_build_src_v1_zone_operations_client_js__WEBPACK_IMPORTED_MODULE_7__/* .ZoneOperationsClient */ .G(o, gaxInstance));
    const regionOperations = lazy((o) => new _google_cloud_compute_build_src_v1_region_operations_client_js__WEBPACK_IMPORTED_MODULE_4__/* .RegionOperationsClient */ .q(o, gaxInstance));
    const globalOperations = lazy((o) => new _google_cloud_compute_build_src_v1_global_operations_client_js__WEBPACK_IMPORTED_MODULE_2__/* .GlobalOperationsClient */ .V(o, gaxInstance));
    const snapshots = lazy((o) => new _google_cloud_compute_build_src_v1_snapshots_client_js__WEBPACK_IMPORTED_MODULE_6__/* .SnapshotsClient */ .p(o, gaxInstance));
    const resourcePolicies = lazy((o) => new _google_cloud_compute_build_src_v1_resource_policies_client_js__WEBPACK_IMPORTED_MODULE_5__/* .ResourcePoliciesClient */ .w(o, gaxInstance));
    const addresses = lazy((o) => new _google_cloud_compute_build_src_v1_addresses_client_js__WEBPACK_IMPORTED_MODULE_0__/* .AddressesClient */ .k(o, gaxInstance));
    return {
        get disks() {
            return disks();
        },
        get regionDisks() {
            return regionDisks();
        },
        get zoneOperations() {
            return zoneOperations();
        },
        get regionOperations() {
            return regionOperations();
        },
        get globalOperations() {
            return globalOperations();
        },
        get snapshots() {
            return snapshots();
        },
        get resourcePolicies() {
            return resourcePolicies();
        },
        get addresses() {
            return addresses();
        },
    };
}


/***/ })

};
