#ifndef S2M3_CMOSQUITTO_SHIM_H
#define S2M3_CMOSQUITTO_SHIM_H
#include <mosquitto.h>
#include <mqtt_protocol.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

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
    return context;
}

static inline void s2m3_tls_context_free(void *context) { SSL_CTX_free((SSL_CTX *)context); }
#endif
