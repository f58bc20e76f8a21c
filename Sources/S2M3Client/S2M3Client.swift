import Foundation
import Logging
import MQTTBus
import S2M3Bus
import S2M3Core
import Synchronization

/// Sends task requests to the aggregators and awaits their answers, over MQTT 5 request/response:
/// each request names the client's reply topic as its response topic and its request id as the
/// correlation data; the aggregator answers there with a ``TaskResult`` or a ``TaskErrorMessage``.
///
/// ```swift
/// let client = S2M3Client(connection: MQTTConnection(configuration: …, logger: logger))
/// try await client.connect()
/// let result = try await client.request(task: "classify-image", inputs: ["image": .media(contentType: "image/jpeg", bytes: jpeg)])
/// await client.close()
/// ```
public final class S2M3Client: Sendable {
    public let topics: Topics
    /// Where answers arrive (``Topics/clientReplies(_:)`` of the connection's client id by default).
    public let replyTopic: String
    /// How long past a request's timeout to wait for the aggregator's own deadline error before
    /// giving up with `timeout` (a busy aggregator may be a little late).
    public let deadlineGrace: Duration
    private let connection: MQTTConnection
    private let board = ReplyBoard()
    private let reader = Mutex<Task<Void, Never>?>(nil)
    /// Publishes unanswered requests again after a reconnect (``PendingRequests``).
    private let resender = Mutex<Task<Void, Never>?>(nil)
    private let pending = PendingRequests()
    private let logger: Logger
    /// After a reconnect, when unanswered requests are published again: the aggregators reconnect
    /// on their own back-off, so a copy sent at once may find none subscribed yet.
    public static let resendDelays: [Duration] = [.milliseconds(300), .seconds(1), .seconds(3)]

    public init(
        connection: MQTTConnection, topics: Topics = Topics(), replyTopic: String? = nil,
        deadlineGrace: Duration = .seconds(2), logger: Logger = Logger(label: "s2m3.client")
    ) {
        self.connection = connection
        self.deadlineGrace = deadlineGrace
        self.topics = topics
        self.logger = logger
        let client = connection.configuration.clientID
        self.replyTopic = replyTopic ?? topics.clientReplies(Topics.isValidIdentifier(client) ? client : "c" + String(UInt64.random(in: 0...UInt64.max), radix: 36))
    }

    /// A client of the broker `broker` (address, TLS, user and password) under `clientID`; its
    /// reply topic is `clients/{clientID}/replies`, which the secure broker's ACL lets only this
    /// client id read.
    public convenience init(
        broker: MQTTBrokerConfiguration, clientID: String, topics: Topics = Topics(),
        deadlineGrace: Duration = .seconds(2), logger: Logger = Logger(label: "s2m3.client")
    ) {
        self.init(
            connection: MQTTConnection(configuration: broker.configuration(clientID: clientID), logger: logger),
            topics: topics, deadlineGrace: deadlineGrace, logger: logger)
    }

    deinit {
        reader.withLock { $0?.cancel() }
        resender.withLock { $0?.cancel() }
    }

    /// Connects and subscribes to the reply topic. The client then reads the connection's
    /// `messages` and `events` (to publish unanswered requests again after a reconnect): give it a
    /// connection of its own.
    public func connect() async throws {
        try await connection.connect()
        let messages = connection.messages
        try await connection.subscribe(replyTopic)
        let board = board
        let task = Task {
            for await message in messages {
                guard let id = Self.requestID(of: message) else { continue }
                board.deliver(message, id: id)
            }
            board.close()
        }
        reader.withLock { $0 = task }
        let (events, pending, connection, logger) = (connection.events, pending, connection, logger)
        let resend = Task {
            for await event in events {
                guard case .reconnected = event else { continue }
                for delay in Self.resendDelays {
                    try? await Task.sleep(for: delay)
                    let messages = pending.all
                    if messages.isEmpty { break }
                    logger.info("publishing unanswered requests again after a reconnect", metadata: ["requests": "\(messages.count)"])
                    for message in messages { try? await connection.publish(message) }
                }
            }
        }
        resender.withLock { $0 = resend }
    }

    /// Sends one request and waits for its result. Throws ``S2M3ClientError`` `taskFailed` (with the
    /// aggregator's error) or `timeout` when no answer came within `timeout` (plus ``deadlineGrace``
    /// for the aggregator's own deadline error).
    public func request(
        task: String, inputs: [String: TaskInput], timeout: Duration = .seconds(10), requestID: String? = nil
    ) async throws -> TaskResult {
        let id = requestID ?? UUID().uuidString.lowercased()
        let timeoutMs = max(1, Int(timeout.components.seconds * 1000 + timeout.components.attoseconds / 1_000_000_000_000_000))
        guard Topics.isValidIdentifier(task) else {
            throw S2M3ClientError(.invalidRequest, "'\(task)' is not a task name (letters, digits, '-', '_', '.')")
        }
        let payload: [UInt8]
        do {
            payload = try TaskRequest(requestID: id, task: task, inputs: inputs, timeoutMs: timeoutMs).bundle().encoded()
        } catch {
            throw S2M3ClientError(.invalidRequest, error.description)
        }
        let properties = MQTTProperties(
            contentType: TensorBundle.contentType,
            userProperties: [MQTTUserProperty(MessageProperties.requestIDName, id)],
            correlationData: Array(id.utf8), responseTopic: replyTopic,
            messageExpiry: UInt32(clamping: (timeoutMs + 999) / 1000))
        let message: MQTTMessage
        do {
            message = try MQTTMessage(topic: topics.requests(task), payload: payload, properties: properties, on: topics)
        } catch {
            throw S2M3ClientError(.invalidRequest, error.description)
        }
        if requestID == nil { pending.add(message, id: id) }
        defer { pending.remove(id) }
        try await connection.publish(message)
        let board = board
        let answer: MQTTMessage
        do {
            answer = try await withThrowingTaskGroup(of: MQTTMessage.self) { group in
                group.addTask {
                    while true {
                        let message = try await board.wait(for: id)
                        // A generated id is this client's alone, so `duplicate-request` for it answers a
                        // copy delivered again (QoS 1, or published again after a reconnect): the
                        // first copy's answer follows.
                        if requestID == nil, Self.isDuplicateRequestError(message) { continue }
                        return message
                    }
                }
                group.addTask {
                    try await Task.sleep(for: timeout + self.deadlineGrace)
                    throw S2M3ClientError(.timeout, "no answer to request \(id) for '\(task)' within \(timeoutMs) ms; is an aggregator running on this broker and root (\(self.topics.root))?")
                }
                defer { group.cancelAll() }
                return try await group.next()!
            }
        } catch {
            board.discard(id)
            throw error
        }
        return try Self.answer(answer, id: id)
    }

    /// Stops listening and disconnects; waiting requests fail with `closed`.
    public func close() async {
        reader.withLock { $0?.cancel() }
        resender.withLock { $0?.cancel() }
        board.close()
        await connection.disconnect()
    }

    /// Reads an answer: a result, or an error thrown as ``S2M3ClientError``.
    static func answer(_ message: MQTTMessage, id: String) throws -> TaskResult {
        if let result = try? TaskResult(json: message.payload) { return result }
        if let error = try? TaskErrorMessage(json: message.payload) {
            throw S2M3ClientError(.taskFailed, error.reason, taskError: error)
        }
        throw S2M3ClientError(.invalidReply, "the answer to \(id) is neither \(TaskResult.schema) nor \(TaskErrorMessage.schema)")
    }

    /// Whether `message` is a `duplicate-request` error (topics.md).
    static func isDuplicateRequestError(_ message: MQTTMessage) -> Bool {
        (try? TaskErrorMessage(json: message.payload))?.code == .duplicateRequest
    }

    /// The request an answer is for: its correlation data, else its `s2m3-request-id` property.
    static func requestID(of message: MQTTMessage) -> String? {
        message.properties.correlationData.flatMap(RequestID.from(correlationData:))
            ?? message.properties.userProperty(MessageProperties.requestIDName)
    }
}
