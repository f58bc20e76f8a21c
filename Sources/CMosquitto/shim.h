#ifndef S2M3_CMOSQUITTO_SHIM_H
#define S2M3_CMOSQUITTO_SHIM_H
#include <mosquitto.h>
#include <mqtt_protocol.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

static inline int s2m3_tls_keep_verdict(int ok, X509_STORE_CTX *store) {
    (void)store;
    return ok;
}

/// OpenSSL's own chain and name verification, without libmosquitto's per-certificate callback:
/// libmosquitto 2.0.11 registers its SSL ex-data index only when it creates the context itself,
/// so with a context of ours its callback finds no client and refuses every certificate.
static inline int s2m3_tls_verify_chain_and_name(X509_STORE_CTX *store, void *argument) {
    (void)argument;
    X509_STORE_CTX_set_verify_cb(store, s2m3_tls_keep_verdict);
    return X509_verify_cert(store);
}

/// A TLS client context whose certificate verification also requires `name` in the broker's
/// certificate (libmosquitto otherwise checks only the host it connects to). Hand it to
/// libmosquitto with MOSQ_OPT_SSL_CTX (and MOSQ_OPT_SSL_CTX_WITH_DEFAULTS, so the CA file and
/// client certificate are still loaded into it); NULL when OpenSSL fails. The caller releases
/// its reference with s2m3_tls_context_free once libmosquitto holds its own.
static inline void *s2m3_tls_context_requiring_name(const char *name) {
    SSL_CTX *context = SSL_CTX_new(TLS_client_method());
    if (context == NULL) return NULL;
    X509_VERIFY_PARAM *parameters = SSL_CTX_get0_param(context);
    X509_VERIFY_PARAM_set_hostflags(parameters, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    int ok = (name[0] >= '0' && name[0] <= '9') || name[0] == '[' || strchr(name, ':') != NULL
        ? X509_VERIFY_PARAM_set1_ip_asc(parameters, name)
        : X509_VERIFY_PARAM_set1_host(parameters, name, 0);
    if (ok != 1) {
        SSL_CTX_free(context);
        return NULL;
    }
    SSL_CTX_set_cert_verify_callback(context, s2m3_tls_verify_chain_and_name, NULL);
    return context;
}

static inline void s2m3_tls_context_free(void *context) { SSL_CTX_free((SSL_CTX *)context); }
#endif
