import Foundation
import LocalBroker
import MQTTBus
import S2M3Client
import S2M3Core
import TestSupport
import Testing

/// The default profile of docker/compose.yaml run without Docker: every service's command line,
/// taken from `docker-compose config`, started here as a process with container paths mapped to
/// local ones (``ContainerMapping``), then checked the way the cluster is used: the plan names
/// every device, each device is online and applied its assignment, the aggregator answers a real
/// request, and each service's own health check passes.
@Suite("docker/compose.yaml services as processes", .serialized)
struct ComposeServicesTests {
    @Test("every service of the default profile starts from its compose command line and becomes ready", .timeLimit(.minutes(5)))
    func defaultProfileComesUp() async throws {
        let compose = try await ComposeFile.load()
        let active = try ComposeFile.defaultProfiles()
        // `setup` is the one-shot that downloads and converts the models into the volume: here the
        // set-up (scripts/setup.d/20-models.sh) already filled ${S2M3_CACHE}, which the volume maps to.
        let services = compose.services.values.filter { $0.isEnabled(profiles: active) && $0.name != "setup" }
            .sorted { $0.name < $1.name }
        let brokers = services.filter { $0.command.first == "mosquitto" }
        let brokerService = try #require(brokers.first, "no broker service in the default profile")
        #expect(brokers.count == 1)

        let run = try ComposeRun()
        let mapping = try ContainerMapping(run: run)
        // The broker: `mosquitto -c <config>` with the config found through the service's bind mount,
        // started by LocalBroker (listener moved to a free loopback port, persistence in a temporary folder).
        let configIndex = try #require(brokerService.command.firstIndex(of: "-c")) + 1
        let config = try mapping.path(brokerService.command[configIndex], mounts: brokerService)
        let broker = try await MosquittoProcess.start(MosquittoProcessConfiguration(template: config))
        let brokerPort = try ContainerMapping.listenerPort(config)
        let local = "\(broker.host):\(broker.port)"
        let addresses = ["\(brokerService.name):\(brokerPort)", "127.0.0.1:\(brokerPort)", "localhost:\(brokerPort)"]

        var processes: [(name: String, process: ChildProcess)] = []
        // Each service's --metrics-port 9400 becomes a port of its own here.
        let metricsBase = try MetricsScrape.freePortBase(count: services.count)
        var metricsPorts: [String: Int] = [:]
        do {
            for (index, service) in services.enumerated() where service.name != brokerService.name {
                if service.command.contains("--metrics-port") { metricsPorts[service.name] = metricsBase + index }
                processes.append((service.name, try run.start(
                    service, mapping: mapping, broker: local, brokerAddresses: addresses, metricsPort: metricsPorts[service.name])))
            }
            let devices = services.filter { $0.command.first == "device" }.compactMap { service in
                service.command.firstIndex(of: "--id").map { service.command[$0 + 1] }
            }
            #expect(devices.count == 3)
            #expect(services.contains { $0.command.first == "planner" })
            #expect(services.contains { $0.command.first == "aggregator" })

            let endpoint = MQTTEndpoint(host: broker.host, port: broker.port)
            let names = processes.map(\.name)
            let plan = try await ComposeReadiness.waitForDevices(devices, endpoint: endpoint, timeout: .seconds(150)) {
                run.logTails(names)
            }
            #expect(Set(plan.devices) == Set(devices))

            // The aggregator answers a real request over the devices.
            let client = S2M3Client(connection: MQTTConnection(
                configuration: MQTTConfiguration(endpoints: [endpoint], clientID: TestBroker.unique("compose-client")),
                logger: UpCluster.logger), logger: UpCluster.logger)
            try await client.connect()
            let result = try await client.request(task: "classify-image", inputs: ["image": try ClusterTests.image("chelsea.jpg")], timeout: .seconds(60))
            await client.close()
            guard case .labels(let labels)? = result.outputs["top"] else { throw ClusterTestError("no labels in \(result)") }
            #expect(labels.first?.label == "Egyptian cat")
            #expect(Set(result.timeline.map(\.device)).isSubset(of: Set(devices)))

            // Every s2m3 service serves its metrics on its --metrics-port, and they saw this request.
            #expect(Set(metricsPorts.keys) == Set(services.filter { ["planner", "aggregator", "device"].contains($0.command.first ?? "") }.map(\.name)))
            for (name, port) in metricsPorts {
                let response = try await within(.seconds(10), "\(name)'s /metrics") { try await MetricsScrape.get(port: port) }
                #expect(response.status == 200, "\(name)")
                let samples = MetricsScrape.samples(response.body)
                #expect(samples.total("s2m3_plan_epoch") >= 1, "\(name): no plan epoch")
                #expect(samples.total("s2m3_bus_messages_total", ["direction": "in"]) > 0, "\(name)")
                if name == "agg-1" {
                    #expect(samples.total("s2m3_requests_total", ["task": "classify-image", "outcome": "result"]) == 1)
                }
            }

            // Each service's own health check, run here against the same processes.
            try await ComposeRun.expectHealthy(services, mapping: mapping, broker: local, brokerAddresses: addresses)
            // …and one that must fail: a device that is not running.
            let device = try #require(services.first { $0.command.first == "device" })
            var absent = device.healthcheck
            if let index = absent.firstIndex(of: "device") { absent[index + 1] = "box-absent" }
            let (executable, arguments) = try mapping.healthCheck(device, test: absent, broker: local, brokerAddresses: addresses)
            #expect(try await Tool.run(executable, arguments).status != 0, "a health check for an absent device passed")

            try await run.stopCleanly(processes)
        } catch {
            await ComposeRun.kill(processes)
            await broker.stop()
            throw error
        }
        await broker.stop()
    }
}

extension ComposeServicesTests {
    /// The secure profile as processes: the broker on secure.conf with make-secrets.sh credentials,
    /// and every service from its compose command line (TLS, its role's login) — the plan comes,
    /// every device applies it, a client answered over TLS, every secure health check passes.
    @Test("the secure profile's services start from their compose lines over TLS with per-role logins and become ready", .timeLimit(.minutes(5)))
    func secureProfileBrokerAndHealthChecks() async throws {
        let compose = try await ComposeFile.load(profile: "secure")
        let services = compose.services.values.filter { $0.isEnabled(profiles: ["secure"]) && $0.name != "setup" }
            .sorted { $0.name < $1.name }
        let brokerService = try #require(services.first { $0.command.first == "mosquitto" })
        let run = try ComposeRun()
        let secrets = run.logs + "/secrets"
        let made = try await Tool.run(TestPaths.repository.appendingPathComponent("docker/make-secrets.sh").path, ["--no-owners", secrets])
        try #require(made.status == 0, "make-secrets.sh: \(made.output)\(made.errors)")
        var mapping = try ContainerMapping(run: run)
        mapping.secrets = compose.secrets
        mapping.secretsFolder = secrets

        // The broker runs secure.conf in /etc/s2m3/broker, so `secrets/…` (the ACL made for the
        // profile's identities too) resolve beside it: LocalBroker resolves them against the
        // secrets folder, which must be exactly what the service mounts there.
        let configIndex = try #require(brokerService.command.firstIndex(of: "-c")) + 1
        let config = try mapping.path(brokerService.command[configIndex], mounts: brokerService)
        let folder = (brokerService.command[configIndex] as NSString).deletingLastPathComponent
        for name in ["ca.crt", "server.crt", "server.key", "passwd", "acl"] {
            #expect(try mapping.path(folder + "/secrets/" + name, mounts: brokerService) == secrets + "/" + name)
        }
        let broker = try await MosquittoProcess.start(MosquittoProcessConfiguration(template: config, secretsDirectory: secrets))
        var processes: [(name: String, process: ChildProcess)] = []
        do {
            let port = try ContainerMapping.listenerPort(config)
            // The certificate names localhost, broker-secure and 127.0.0.1; here the broker is on localhost.
            let local = "localhost:\(broker.port)"
            let addresses = ["\(brokerService.name):\(port)", "localhost:\(port)", "127.0.0.1:\(port)"]
            let devices = services.filter { $0.command.first == "device" }.compactMap { service in
                service.command.firstIndex(of: "--id").map { service.command[$0 + 1] }
            }
            #expect(devices.count == 3)
            // Each service's --metrics-port moved to a free local port (in containers they all use 9400).
            let metricsBase = try MetricsScrape.freePortBase(count: services.count)
            for (index, service) in services.enumerated() where service.name != brokerService.name {
                let port = service.command.contains("--metrics-port") ? metricsBase + index : nil
                processes.append((service.name, try run.start(
                    service, mapping: mapping, broker: local, brokerAddresses: addresses, metricsPort: port)))
            }
            // Followed as a monitor identity (which may read the plan, device states and telemetry);
            // the request sent as the client identity. The broker makes the user name the client id,
            // so each login is its own connection (the services' own would be taken over).
            let endpoint = MQTTEndpoint(host: "localhost", port: broker.port)
            func login(_ role: String) throws -> MQTTBrokerConfiguration {
                let password = try String(contentsOfFile: secrets + "/\(role).password", encoding: .utf8)
                    .trimmingCharacters(in: .whitespacesAndNewlines)
                return MQTTBrokerConfiguration(
                    endpoints: [endpoint], tls: MQTTTLSConfiguration(caFile: secrets + "/ca.crt"), username: role, password: password)
            }
            let asClient = try login("client")
            let names = processes.map(\.name)
            let plan = try await ComposeReadiness.waitForDevices(devices, broker: try login("planner-health"), timeout: .seconds(150)) {
                run.logTails(names)
            }
            #expect(Set(plan.devices) == Set(devices))
            let client = S2M3Client(broker: asClient, clientID: "client", logger: UpCluster.logger)
            try await client.connect()
            let result = try await client.request(task: "classify-image", inputs: ["image": try ClusterTests.image("chelsea.jpg")], timeout: .seconds(60))
            await client.close()
            guard case .labels(let labels)? = result.outputs["top"] else { throw ClusterTestError("no labels in \(result)") }
            #expect(labels.first?.label == "Egyptian cat")

            try await ComposeRun.expectHealthy(services, mapping: mapping, broker: local, brokerAddresses: addresses)
            // A device's check with another identity's password is refused.
            let device = try #require(services.first { $0.command.first == "device" })
            var wrong = device.healthcheck
            let index = try #require(wrong.firstIndex(of: "--password-file"))
            wrong[index + 1] = "/run/secrets/client-password"
            let lent = ComposeFile.Service(copying: device, secrets: device.secrets + ["client-password"])
            let (executable, arguments) = try mapping.healthCheck(lent, test: wrong, broker: local, brokerAddresses: addresses)
            #expect(try await Tool.run(executable, arguments).status != 0, "a device check with the client's password passed")
            try await run.stopCleanly(processes)
        } catch {
            await ComposeRun.kill(processes)
            await broker.stop()
            throw error
        }
        await broker.stop()
    }
}

/// One run's folders: the service logs (new each run) and the stand-in for the `s2m3-cache` volume.
struct ComposeRun {
    let logs: String
    /// Kept under the temporary directory between runs, so the planner measures module costs once
    /// per machine as it would once per volume; its `models/` links to `${S2M3_CACHE}/models`.
    let volume: String

    init() throws {
        logs = NSTemporaryDirectory() + "s2m3-compose-test-\(UUID().uuidString.prefix(8))"
        volume = NSTemporaryDirectory() + "s2m3-compose-volume"
        let files = FileManager.default
        try files.createDirectory(atPath: logs, withIntermediateDirectories: true)
        let models = TestPaths.cache.appendingPathComponent("models").path
        let linked = volume + "/models"
        try files.createDirectory(atPath: linked, withIntermediateDirectories: true)
        let names = try files.contentsOfDirectory(atPath: models).filter { !$0.hasPrefix(".") && !$0.hasSuffix(".sha256") }
        guard names.contains(where: { $0.hasSuffix(".onnx") }) else { throw ClusterTestError("no models in \(models): run scripts/setup.sh") }
        for name in names where (try? files.destinationOfSymbolicLink(atPath: linked + "/" + name)) != models + "/" + name {
            try? files.removeItem(atPath: linked + "/" + name)
            try files.createSymbolicLink(atPath: linked + "/" + name, withDestinationPath: models + "/" + name)
        }
    }

    /// Starts one service from its mapped compose command line, its output in its log.
    func start(
        _ service: ComposeFile.Service, mapping: ContainerMapping, broker: String, brokerAddresses: [String], metricsPort: Int? = nil
    ) throws -> ChildProcess {
        let (executable, arguments) = try mapping.commandLine(service, broker: broker, brokerAddresses: brokerAddresses, metricsPort: metricsPort)
        let log = logs + "/\(service.name).log"
        try Data("$ \(([executable] + arguments).joined(separator: " "))\n".utf8).write(to: URL(fileURLWithPath: log))
        return try ChildProcess.spawn(executable, arguments, stdout: .appendToFile(log), stderr: .appendToFile(log))
    }

    /// SIGTERM (docker stop) ends every service cleanly (status 0) within the compose file's 15 s
    /// grace period.
    func stopCleanly(_ processes: [(name: String, process: ChildProcess)]) async throws {
        for (_, process) in processes { process.send(SIGTERM) }
        for (name, process) in processes {
            let status = try await within(.seconds(15), "\(name) to stop on SIGTERM") { await process.waitUntilExit() }
            #expect(status == 0, "\(name) exited with \(status.map(String.init) ?? "-")\n\(logTails([name]))")
        }
    }

    /// Every service's own health check, mapped to the test's processes, exits 0.
    static func expectHealthy(
        _ services: [ComposeFile.Service], mapping: ContainerMapping, broker: String, brokerAddresses: [String]
    ) async throws {
        for service in services {
            let (executable, arguments) = try mapping.healthCheck(service, broker: broker, brokerAddresses: brokerAddresses)
            let check = try await Tool.run(executable, arguments)
            #expect(check.status == 0, "\(service.name): health check \(service.healthcheck) failed: \(check.errors)")
        }
    }

    static func kill(_ processes: [(name: String, process: ChildProcess)]) async {
        for (_, process) in processes { process.send(SIGKILL) }
        for (_, process) in processes { _ = await process.waitUntilExit() }
    }

    func logTails(_ names: [String]) -> String {
        names.map { name in
            let text = FileManager.default.contents(atPath: logs + "/\(name).log").map { String(decoding: $0, as: UTF8.self) } ?? ""
            return "--- \(name):\n" + text.split(separator: "\n").suffix(8).joined(separator: "\n")
        }.joined(separator: "\n")
    }
}
