import Catalog
import DeviceAgent
import Foundation
import Inference
import LocalBroker
import MQTTBus
import Preprocessing
import S2M3Core
import TestSupport
import Testing

/// The agent as a real child process on a real broker, with real models.
@Suite("Device agent process")
struct DeviceAgentProcessTests {
    static let effnet = "effnet-lite0-trunk"

    /// Announces itself, applies an assignment, answers a real invocation exactly as ONNX Runtime
    /// does, answers bad invocations with errors and keeps serving, refuses assignments over its
    /// budget or with a wrong digest, unloads what is no longer assigned, re-announces itself
    /// after a stale will, and is marked offline by its will when killed.
    @Test func servesAssignedModulesAndRefusesWhatDoesNotFit() async throws {
        let catalog = try AgentHarness.catalog()
        let effnetDigest = try #require(catalog.module(Self.effnet)).digest
        let encoderDigest = try #require(catalog.module("whisper-tiny-encoder")).digest
        let headDigest = try #require(catalog.module("imagenet-head")).digest
        // The reference: the preprocessed photo through the ONNX session directly.
        let photo = try [UInt8](Data(contentsOf: TestPaths.cache.appendingPathComponent("fixtures/chelsea.jpg")))
        let pixels = try ImagePreprocess()(encoded: photo)
        let session = try await InferenceSession.load(modelPath: AgentHarness.modelsDirectory + "/\(Self.effnet).onnx")
        let reference = try #require(try await session.run(inputs: ["image": pixels])["embedding"]?.float32Values)
        let inputs = try TensorBundle(tensors: ["image": BundleTensor(floats: try #require(pixels.float32Values), shape: pixels.shape)])

        try await AgentHarness.with(
            device: "box-a", arguments: ["--memory", "200MB", "--queue-capacity", "4", "--sensors", "cam0:camera"]
        ) { agent in
            let topics = agent.topics
            let online = try await agent.wait("the online state") { message -> DeviceState? in
                guard message.topic == topics.deviceState("box-a"), let state = try? DeviceState(json: message.payload) else { return nil }
                return state.status == .online ? state : nil
            }
            let capabilities = try await agent.wait("the capabilities") { message in
                message.topic == topics.deviceCapabilities("box-a") ? try DeviceCapabilities(json: message.payload) : nil
            }
            #expect(capabilities.session == online.session)
            #expect(capabilities.memoryBudgetBytes == 200_000_000)
            #expect(capabilities.computeGflops > 0)
            #expect(capabilities.sensors == [.init(id: "cam0", kind: .camera)])
            #expect(capabilities.limits.queueCapacity == 4)
            print("device agent calibration: \(capabilities.computeGflops) GFLOP/s")

            try await agent.assign(epoch: 1, [.init(module: Self.effnet, digest: effnetDigest, memoryBytes: 40_000_000)])
            let applied = try await agent.telemetry("epoch 1 applied") { $0.assignment == .init(epoch: 1, status: .applied) }
            #expect(applied.loadedModules == [Self.effnet])
            #expect(applied.queueCapacity == 4)
            #expect(applied.residentMemoryBytes > 0)

            // A real invocation: the embedding equals the direct ONNX run.
            let sent = ContinuousClock.now
            try await agent.invoke(Self.effnet, requestID: "req-1", inputs: inputs)
            let (ok, okBundle, okMessage) = try await agent.partial("req-1")
            print("effnet-lite0-trunk invoke round trip: \(ContinuousClock.now - sent) (device compute \(ok.computeMs) ms, queue \(ok.queueWaitMs) ms)")
            #expect(ok.status == .ok)
            #expect(ok.device == "box-a" && ok.module == Self.effnet && ok.node == "n" && ok.task == "test-task")
            let embedding = try okBundle.tensor("embedding").floats()
            #expect(embedding.count == reference.count)
            #expect(zip(embedding, reference).map { abs($0 - $1) }.max() ?? 1 <= 1e-5)
            #expect(ok.computeMs > 0)
            let started = try #require(ok.startedAtMs)
            #expect(ok.receivedAtMs <= started && started <= ok.finishedAtMs)
            #expect(okMessage.properties.correlationData == Array("req-1".utf8))
            #expect(okMessage.properties.userProperty(MessageProperties.requestIDName) == "req-1")
            #expect(okMessage.properties.userProperty(MessageProperties.epochName) == "1")
            #expect(okMessage.properties.contentType == TensorBundle.contentType)

            // Bad invocations: each an error (when it can be answered), and the agent keeps serving.
            try await agent.invoke(Self.effnet, requestID: "req-1", inputs: inputs)  // a repeat: answered once
            let invokeTopic = topics.moduleInvoke(module: Self.effnet, device: "box-a")
            try await agent.client.publish(MQTTMessage(
                topic: invokeTopic, payload: Array("not a bundle".utf8),
                properties: MQTTProperties(
                    contentType: TensorBundle.contentType, correlationData: Array("req-garbage".utf8),
                    responseTopic: topics.aggregatorPartials(agent.aggregator, device: "box-a"))))
            try await agent.client.publish(MQTTMessage(topic: invokeTopic, payload: [1, 2, 3]))  // nobody to answer
            try await agent.client.publish(MQTTMessage(topic: invokeTopic, payload: TensorBundle(metadata: ["s2m3.request-id": "req-nometa", "s2m3.reply-to": agent.aggregator]).encoded()))
            var wrongName = TensorBundle()
            try wrongName.set(BundleTensor(floats: [Float](repeating: 0, count: 12), shape: [1, 3, 2, 2]), named: "pixels")
            try await agent.invoke(Self.effnet, requestID: "req-wrong-name", inputs: wrongName)
            var wrongShape = TensorBundle()
            try wrongShape.set(BundleTensor(floats: [Float](repeating: 0, count: 12), shape: [1, 3, 2, 2]), named: "image")
            try await agent.invoke(Self.effnet, requestID: "req-wrong-shape", inputs: wrongShape)
            try await agent.invoke(Self.effnet, requestID: "req-late", inputs: inputs, deadlineMs: AgentHarness.nowMs() - 1000)
            let traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
            try await agent.invoke(Self.effnet, requestID: "req-2", inputs: inputs, traceparent: traceparent)

            let garbage = try await agent.partial("req-garbage").0
            #expect(garbage.status == .error)
            #expect(garbage.error?.contains("not a tensor bundle") == true)
            let noMetadata = try await agent.partial("req-nometa").0
            #expect(noMetadata.status == .error && noMetadata.error?.contains("metadata") == true)
            let wrongNameAnswer = try await agent.partial("req-wrong-name").0
            #expect(wrongNameAnswer.status == .error && wrongNameAnswer.error?.contains("missing input 'image'") == true)
            let wrongShapeAnswer = try await agent.partial("req-wrong-shape").0
            #expect(wrongShapeAnswer.status == .error)
            #expect(wrongShapeAnswer.error?.hasPrefix("bad-input: ") == true, "topics.md's prefix: \(wrongShapeAnswer.error ?? "")")
            let late = try await agent.partial("req-late").0
            #expect(late.status == .error && late.error?.contains("deadline") == true)
            let second = try await agent.partial("req-2")
            #expect(second.0.status == .ok)
            #expect(try second.1.tensor("embedding").floats() == embedding)
            #expect(second.2.properties.userProperty(MessageProperties.traceparentName) == traceparent)
            #expect(await agent.partials("req-1").count == 1)
            let measured = try await agent.telemetry("module timings") { ($0.modules[Self.effnet]?.count ?? 0) >= 2 }
            #expect((measured.modules[Self.effnet]?.p50Ms ?? 0) > 0)

            // Over budget, then a wrong digest: refused, and the effnet stays loaded.
            try await agent.assign(epoch: 2, [
                .init(module: Self.effnet, digest: effnetDigest, memoryBytes: 40_000_000),
                .init(module: "whisper-tiny-encoder", digest: encoderDigest, memoryBytes: 180_000_000),
            ])
            let overBudget = try await agent.telemetry("epoch 2 refused") { $0.assignment?.epoch == 2 && $0.assignment?.status == .refused }
            #expect(overBudget.assignment?.reason?.contains("budget") == true)
            #expect(overBudget.loadedModules == [Self.effnet])
            try await agent.assign(epoch: 3, [.init(module: Self.effnet, digest: "sha256:0000", memoryBytes: 40_000_000)])
            let mismatch = try await agent.telemetry("epoch 3 refused") { $0.assignment?.epoch == 3 && $0.assignment?.status == .refused }
            #expect(mismatch.assignment?.reason?.contains("digest") == true)
            #expect(mismatch.loadedModules == [Self.effnet])

            // A new assignment: the effnet is unloaded, the head loaded.
            try await agent.assign(epoch: 4, [.init(module: "imagenet-head", digest: headDigest, memoryBytes: 10_000_000)])
            let swapped = try await agent.telemetry("epoch 4 applied") { $0.assignment == .init(epoch: 4, status: .applied) }
            #expect(swapped.loadedModules == ["imagenet-head"])

            // A will of another session arriving late: the agent says online again.
            let staleAt = AgentHarness.nowMs()
            let stale = DeviceState.lastWill(device: "box-a", session: "old-session", timestampMs: staleAt)
            try await agent.client.publish(MQTTMessage(topic: topics.deviceState("box-a"), payload: try stale.jsonBytes(), retain: true))
            let again = try await agent.wait("online again") { message -> DeviceState? in
                guard message.topic == topics.deviceState("box-a"), let state = try? DeviceState(json: message.payload) else { return nil }
                return state.status == .online && state.timestampMs >= staleAt ? state : nil
            }
            #expect(again.session == online.session)

            // A retained offline of this very session while the agent runs (a forgery on a broker
            // without ACLs, or a will of a replaced connection): it does not evict the agent.
            let forgedAt = AgentHarness.nowMs()
            // (Its reason is not last-will, so the kill below still waits for the broker's will.)
            let forged = DeviceState(device: "box-a", status: .offline, session: online.session, timestampMs: forgedAt, reason: "forged")
            try await agent.client.publish(MQTTMessage(topic: topics.deviceState("box-a"), payload: try forged.jsonBytes(), retain: true))
            let restored = try await agent.wait("online again after a forged offline") { message -> DeviceState? in
                guard message.topic == topics.deviceState("box-a"), let state = try? DeviceState(json: message.payload) else { return nil }
                return state.status == .online && state.timestampMs >= forgedAt ? state : nil
            }
            #expect(restored.session == online.session)

            // Killed: the broker publishes the will.
            agent.child.send(SIGKILL)
            #expect(await agent.exitStatus() == 128 + SIGKILL)
            let will = try await agent.wait("the will") { message -> DeviceState? in
                guard message.topic == topics.deviceState("box-a"), let state = try? DeviceState(json: message.payload) else { return nil }
                return state.reason == DeviceState.lastWillReason && state.session == online.session ? state : nil
            }
            #expect(will.status == .offline)
        }
    }

    /// With room for one invocation, concurrent invocations of the Whisper encoder get `busy`
    /// at once; a SIGTERM then stops the agent cleanly: the running invocation is answered, then
    /// the agent says offline (reason shutdown) and exits 0.
    @Test func answersBusyWhenTheQueueIsFull() async throws {
        let catalog = try AgentHarness.catalog()
        let encoder = "whisper-tiny-encoder"
        let digest = try #require(catalog.module(encoder)).digest
        try await AgentHarness.with(device: "box-b", arguments: ["--memory", "1GiB", "--queue-capacity", "1"]) { agent in
            try await agent.assign(epoch: 1, [.init(module: encoder, digest: digest, memoryBytes: 120_000_000)])
            _ = try await agent.telemetry("epoch 1 applied") { $0.assignment == .init(epoch: 1, status: .applied) }
            var mel = TensorBundle()
            try mel.set(BundleTensor(floats: [Float](repeating: -0.5, count: 80 * 3000), shape: [1, 80, 3000]), named: "mel")
            let ids = (1...4).map { "busy-\($0)" }
            for id in ids { try await agent.invoke(encoder, requestID: id, inputs: mel) }
            var answers: [PartialResult] = []
            for id in ids { answers.append(try await agent.partial(id).0) }
            let busy = answers.filter { $0.status == .busy }
            let ok = answers.filter { $0.status == .ok }
            print("queue capacity 1, 4 concurrent invokes: \(ok.count) ok, \(busy.count) busy; busy answered after \(busy.map { $0.finishedAtMs - $0.receivedAtMs }) ms")
            #expect(ok.count >= 1)
            #expect(busy.count >= 1)
            #expect(ok.count + busy.count == 4)
            #expect(busy.allSatisfy { $0.computeMs == 0 && $0.startedAtMs == nil })
            for result in ok {
                let bundle = try await agent.partial(result.requestID).1
                #expect(try bundle.tensor("features").shape == [1, 1500, 384])
            }

            // SIGTERM with an invocation running: it is answered before the agent says offline.
            // (The late invocation's error proves the agent took the running one first.)
            try await agent.invoke(encoder, requestID: "in-flight", inputs: mel)
            try await agent.invoke(encoder, requestID: "late", inputs: mel, deadlineMs: AgentHarness.nowMs() - 1)
            #expect(try await agent.partial("late").0.status == .error)
            agent.child.send(SIGTERM)
            #expect(await agent.exitStatus() == 0)
            let stateTopic = agent.topics.deviceState("box-b"), partials = agent.topics.aggregatorPartials(agent.aggregator, device: "box-b")
            let order = try await agent.wait("the shutdown state") { message -> DeviceState? in
                guard message.topic == stateTopic, let state = try? DeviceState(json: message.payload) else { return nil }
                return state.status == .offline ? state : nil
            }
            #expect(order.reason == DeviceState.shutdownReason)
            let inFlight = try await agent.partial("in-flight").0
            #expect(inFlight.status == .ok)
            let sequence = await agent.inbox.messages(from: 0).compactMap { message -> String? in
                if message.topic == stateTopic, (try? DeviceState(json: message.payload))?.status == .offline { return "offline" }
                if message.topic == partials, let bundle = try? TensorBundle(decoding: message.payload),
                    (try? PartialResult(bundle: bundle))?.requestID == "in-flight"
                { return "answer" }
                return nil
            }
            #expect(sequence == ["answer", "offline"])
        }
    }

    /// An answer the broker will not take (over its packet limit) becomes an error answer at once,
    /// so the aggregator need not wait for the deadline.
    @Test func answersAnErrorWhenTheOutputsCannotBePublished() async throws {
        let catalog = try AgentHarness.catalog()
        let digest = try #require(catalog.module("image-preprocess")).digest
        let photo = try [UInt8](Data(contentsOf: TestPaths.cache.appendingPathComponent("fixtures/chelsea.jpg")))
        try await AgentHarness.with(device: "box-p", arguments: ["--memory", "200MB"], brokerLines: ["max_packet_size 200000"]) { agent in
            try await agent.assign(epoch: 1, [.init(module: "image-preprocess", digest: digest, memoryBytes: 0)])
            _ = try await agent.telemetry("epoch 1 applied") { $0.assignment == .init(epoch: 1, status: .applied) }
            var inputs = TensorBundle()
            try inputs.setMedia(photo, contentType: MediaType.jpeg, named: "file")
            try await agent.invoke("image-preprocess", requestID: "too-large", inputs: inputs)
            let (answer, bundle, _) = try await agent.partial("too-large")
            #expect(answer.status == .error)
            #expect(answer.error?.contains("could not be published") == true, "\(answer.error ?? "")")
            #expect(bundle.tensors.isEmpty)
        }
    }

    /// The broker dies and comes back without its retained messages: the agent reconnects by
    /// itself, announces itself again and still answers invocations of the modules it hosts (an
    /// ONNX one and a built-in).
    @Test func announcesAgainAfterTheBrokerRestarts() async throws {
        let catalog = try AgentHarness.catalog()
        let head = "imagenet-head"
        let digest = try #require(catalog.module(head)).digest
        let topK = try #require(catalog.module("top-k")).digest
        try await AgentHarness.with(device: "box-c", arguments: ["--memory", "100MB"]) { agent in
            try await agent.assign(epoch: 1, [
                .init(module: head, digest: digest, memoryBytes: 10_000_000), .init(module: "top-k", digest: topK, memoryBytes: 1_000_000),
            ])
            _ = try await agent.telemetry("epoch 1 applied") { $0.assignment == .init(epoch: 1, status: .applied) }
            let first = try await agent.wait("the online state") { message -> DeviceState? in
                guard message.topic == agent.topics.deviceState("box-c"), let state = try? DeviceState(json: message.payload) else { return nil }
                return state.status == .online ? state : nil
            }
            await agent.broker.kill()  // nothing retained survives
            try await agent.broker.restart()
            let again = try await agent.wait("online after the restart", within: .seconds(20)) { message -> DeviceState? in
                guard message.topic == agent.topics.deviceState("box-c"), let state = try? DeviceState(json: message.payload) else { return nil }
                return state.status == .online && state.timestampMs > first.timestampMs ? state : nil
            }
            #expect(again.session == first.session)
            let embedding = try TensorBundle(tensors: ["embedding": BundleTensor(floats: [Float](repeating: 0.01, count: 1280), shape: [1, 1280])])
            try await agent.invoke(head, requestID: "after-restart", inputs: embedding)
            let (answer, bundle, _) = try await agent.partial("after-restart")
            #expect(answer.status == .ok)
            #expect(try bundle.tensor("logits").shape == [1, 1000])
            var logits = [Float](repeating: 0, count: 1000)
            logits[281] = 10  // ImageNet class 281: tabby cat
            try await agent.invoke("top-k", requestID: "built-in", inputs: try TensorBundle(tensors: ["logits": BundleTensor(floats: logits, shape: [1, 1000])]))
            let (ranked, rankedBundle, _) = try await agent.partial("built-in")
            #expect(ranked.status == .ok)
            #expect(rankedBundle["labels"] != nil && rankedBundle["scores"] != nil)
            let scores = try #require(try rankedBundle["scores"]?.floats())
            #expect((scores.first ?? 0) > 0.9)
            #expect(try rankedBundle.texts("labels").first?.contains("tabby") == true)
        }
    }

    /// Two catalog entries with the same weights and interface are one module: the agent loads it
    /// once and answers invocations addressed to either id.
    @Test func answersUnderEveryIdOfASharedModule() async throws {
        var document = try JSONDecoder().decode(CatalogDocument.self, from: Data(contentsOf: URL(fileURLWithPath: AgentHarness.catalogPath)))
        var head = try #require(document.modules.first { $0.id == "imagenet-head" })
        document.tasks = []
        head.id = "head-a"
        var alias = head
        alias.id = "head-b"
        document.modules = [head, alias]
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("shared-catalog-\(getpid()).json").path
        try JSONEncoder().encode(document).write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let catalog = try ModuleCatalog(document: document, modelsDirectory: AgentHarness.modelsDirectory)
        #expect(catalog.sharedID["head-b"] == "head-a")
        let digest = try #require(catalog.module("head-a")).digest
        try await AgentHarness.with(device: "box-d", arguments: ["--memory", "100MB"], catalog: path) { agent in
            try await agent.assign(epoch: 1, [.init(module: "head-a", digest: digest, memoryBytes: 10_000_000)])
            let applied = try await agent.telemetry("epoch 1 applied") { $0.assignment == .init(epoch: 1, status: .applied) }
            #expect(applied.loadedModules == ["head-a"])
            let embedding = try TensorBundle(tensors: ["embedding": BundleTensor(floats: [Float](repeating: 0.02, count: 1280), shape: [1, 1280])])
            try await agent.invoke("head-a", requestID: "by-a", inputs: embedding)
            try await agent.invoke("head-b", requestID: "by-b", inputs: embedding)
            let (a, aBundle, _) = try await agent.partial("by-a")
            let (b, bBundle, _) = try await agent.partial("by-b")
            #expect(a.status == .ok && b.status == .ok)
            #expect(b.module == "head-b")
            #expect(try aBundle.tensor("logits").floats() == bBundle.tensor("logits").floats())
        }
    }
}
