#ifndef S2M3_CMOSQUITTO_SHIM_H
#define S2M3_CMOSQUITTO_SHIM_H
#include <mosquitto.h>
#include <mqtt_protocol.h>
#endif
