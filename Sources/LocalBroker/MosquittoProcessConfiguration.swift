/// How to run a local Mosquitto broker from a config template.
public struct MosquittoProcessConfiguration: Sendable {
    /// A config from `broker-config/` (e.g. `dev.conf`, `secure.conf`).
    public var template: String
    /// Where `secrets/…` paths point (the output of `make-credentials.sh`); default
    /// `<template directory>/secrets`.
    public var secretsDirectory: String?
    /// Listener address; `nil` keeps the template's. Default loopback.
    public var bindAddress: String? = "127.0.0.1"
    /// Fixed listener ports (one per `listener` line); empty picks free ports.
    public var ports: [Int] = []
    /// With no fixed ``ports``: use the template's own listener ports (1883 for dev.conf, 8883
    /// for secure.conf) when they are all free on the listener address, else free ports.
    public var preferTemplatePorts = false
    /// Directory for the generated config, log and persistence; default a new temporary directory,
    /// removed on ``MosquittoProcess/stop()``.
    public var workDirectory: String?
    /// Lines appended to the generated config (they override earlier settings).
    public var extraLines: [String] = []
    /// The broker executable; default `mosquitto` from `PATH` or `/usr/sbin`.
    public var executable: String?
    /// How long to wait for the broker to accept connections.
    public var startTimeout: Duration = .seconds(10)

    public init(template: String, secretsDirectory: String? = nil) {
        self.template = template
        self.secretsDirectory = secretsDirectory
    }
}
