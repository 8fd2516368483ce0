export const id = 347;
export const ids = [347];
export const modules = {

/***/ 4347:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {

__webpack_require__.r(__webpack_exports__);
/* harmony export */ __webpack_require__.d(__webpack_exports__, {
/* harmony export */   startAuth: () => (/* binding */ startAuth)
/* harmony export */ });
/* harmony import */ var node_async_hooks__WEBPACK_IMPORTED_MODULE_0__ = __webpack_require__(6698);
/* harmony import */ var node_async_hooks__WEBPACK_IMPORTED_MODULE_0___default = /*#__PURE__*/__webpack_require__.n(node_async_hooks__WEBPACK_IMPORTED_MODULE_0__);
/* harmony import */ var node_diagnostics_channel__WEBPACK_IMPORTED_MODULE_1__ = __webpack_require__(3053);
/* harmony import */ var node_diagnostics_channel__WEBPACK_IMPORTED_MODULE_1___default = /*#__PURE__*/__webpack_require__.n(node_diagnostics_channel__WEBPACK_IMPORTED_MODULE_1__);
/* harmony import */ var node_http__WEBPACK_IMPORTED_MODULE_2__ = __webpack_require__(7067);
/* harmony import */ var node_http__WEBPACK_IMPORTED_MODULE_2___default = /*#__PURE__*/__webpack_require__.n(node_http__WEBPACK_IMPORTED_MODULE_2__);
/* harmony import */ var google_auth_library__WEBPACK_IMPORTED_MODULE_3__ = __webpack_require__(492);
// Loaded on its own, ahead of the Compute library (google-gax and the clients, ~3 MB to evaluate): the token
// exchange, the first request of every run and the head of its longest chain (the token, then the disk), leaves
// before the library is evaluated, and the library is evaluated while the exchange is on the wire. The library is
// then handed this same GoogleAuth, whose credential client caches the token. google-auth-library is pinned to
// google-gax's own version, so the bundle holds one copy.




const CLOUD_PLATFORM = 'https://www.googleapis.com/auth/cloud-platform';
/** Published by node:http (gaxios' node-fetch) as a request starts, by fetch (undici) as its headers go out. */
const REQUEST_SENT = ['http.client.request.start', 'undici:client:sendHeaders'];
function startAuth(projectId) {
    let sent = () => undefined;
    const onTheWire = new Promise((resolve) => (sent = resolve));
    // Requests made on the token's behalf carry this context (and only they: the cluster's reads do not).
    const tokenContext = new node_async_hooks__WEBPACK_IMPORTED_MODULE_0__.AsyncLocalStorage();
    const listener = (message) => {
        if (!tokenContext.getStore())
            return;
        // node:http announces a request before its socket connects: it is out once written ('finish').
        const request = message.request;
        if (request instanceof node_http__WEBPACK_IMPORTED_MODULE_2__.ClientRequest)
            request.once('finish', sent);
        else
            sent();
    };
    for (const channel of REQUEST_SENT)
        node_diagnostics_channel__WEBPACK_IMPORTED_MODULE_1__.subscribe(channel, listener);
    void onTheWire.then(() => {
        for (const channel of REQUEST_SENT)
            node_diagnostics_channel__WEBPACK_IMPORTED_MODULE_1__.unsubscribe(channel, listener);
    });
    const auth = new google_auth_library__WEBPACK_IMPORTED_MODULE_3__.GoogleAuth({ projectId, scopes: [CLOUD_PLATFORM] });
    // A failure here is met again, and reported, by the first Compute call (which asks for the token itself).
    tokenContext.run(true, () => auth.getAccessToken()).then(sent, sent);
    return { auth, onTheWire };
}


/***/ })

};
