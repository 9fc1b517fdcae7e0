extension CoordinatorCore {
    /// Records the steps a function reached but does not execute itself, then stores the run.
    ///
    /// - `run`: pending, dispatched on its own (in parallel with its siblings).
    /// - `sleep`: a timer; `waitForEvent`: a wait in the index, with its timeout.
    /// - `sendEvent`: the events are accepted now, in the same write as the step, so they are
    ///   sent exactly once; the step is memoized with their ids.
    /// - `invoke`: a run of the other function starts, and the step resolves when it ends.
    ///
    /// A step that cannot be carried out (bad input, unknown function) is memoized as failed
    /// with a clear code, so the function sees the error thrown from the step call.
    mutating func plan(
        _ planned: [PlannedStep], in run: inout RunRecord, changed: inout [Int], now: Int64, into effects: inout Effects
    ) {
        let limits = configuration.limits
        var sends: [IncomingEvent] = []
        var invokes: [(index: Int, definition: FunctionDefinition, data: [UInt8])] = []
        var waits: [Int] = []
        for step in planned {
            // A step known already was reported by an earlier request: nothing new.
            guard !run.steps.contains(where: { $0.id == step.stepId }) else { continue }
            guard run.steps.count < limits.maxStepsPerRun else {
                run.status = .failed
                run.error = RunError(
                    code: ErrorCode.tooManySteps.rawValue, message: "the run reached the limit of \(limits.maxStepsPerRun) steps")
                run.endedAtMilliseconds = now
                finish(run, changedSteps: changed, now: now, into: &effects)
                return
            }
            var record = StepRecord(id: step.stepId, status: .pending, attempts: 0, startedAtMilliseconds: now)
            switch step.operation {
            case .run:
                record.startedAtMilliseconds = 0
            case .sleep(let duration, let until):
                record.kind = .sleep
                // How long from now: checked against the limit before it is added to `now`, so
                // that no duration or time a worker sends can overflow.
                let delay = duration > 0 ? duration : Self.milliseconds(from: now, to: until)
                if duration < 0 || delay > limits.maxSleepMilliseconds {
                    record.fail(.invalidInput, "step.sleep '\(step.stepId)': the duration must be between 0 and \(limits.maxSleepMilliseconds) ms", at: now)
                } else if delay <= 0 {
                    record.complete(output: Array("null".utf8), at: now)
                } else {
                    let due = now + delay
                    record.status = .sleeping
                    record.dueAtMilliseconds = due
                    timers.insert(Timer(.sleep(runId: run.id, stepId: step.stepId), at: due))
                }
            case .waitForEvent(let event, let match, let timeout):
                record.kind = .waitForEvent
                if let problem = TriggerDefinition.event(name: event, expression: match).problem(limits: limits) {
                    record.fail(.invalidConfig, "step.waitForEvent '\(step.stepId)': \(problem)", at: now)
                } else if event.hasSuffix("/*") {
                    record.fail(.invalidConfig, "step.waitForEvent '\(step.stepId)': wait for an exact event name, not a prefix", at: now)
                } else if timeout <= 0 || timeout > limits.maxSleepMilliseconds {
                    record.fail(.invalidInput, "step.waitForEvent '\(step.stepId)': the timeout must be between 1 and \(limits.maxSleepMilliseconds) ms", at: now)
                } else {
                    record.status = .waiting
                    record.waitEvent = event
                    record.waitMatch = match ?? ""
                    record.dueAtMilliseconds = now + timeout
                    timers.insert(Timer(.waitTimeout(runId: run.id, stepId: step.stepId), at: now + timeout))
                    waits.append(run.steps.count)
                }
            case .sendEvent(let events):
                record.kind = .sendEvent
                if let problem = sendProblem(events) {
                    record.fail(problem.code, "step.sendEvent '\(step.stepId)': \(problem.message)", at: now)
                } else {
                    var ids: [JSONValue] = []
                    for var event in events {
                        let id = event.id ?? self.ids.next(nowMilliseconds: now)
                        event.id = id
                        // The runs it starts join the sending run's trace (when it is traced).
                        event.traceParent = run.events.first?.traceParent ?? ""
                        ids.append(.string(id))
                        sends.append(event)
                    }
                    record.complete(output: JSONValue.object(["ids": .array(ids)]).serialized(), at: now)
                }
            case .invoke(let functionId, let data):
                record.kind = .invoke
                let qualified = functionId.contains(":") ? functionId : FunctionDefinition.makeID(app: run.app, slug: functionId)
                if let definition = functions[qualified]?.definition {
                    if let problem = Self.eventDataProblem(data, limits: limits) {
                        record.fail(problem.code, "step.invoke '\(step.stepId)': \(problem.message)", at: now)
                    } else {
                        record.status = .invoking
                        invokes.append((run.steps.count, definition, data))
                    }
                } else {
                    record.fail(
                        .functionNotFound,
                        "step.invoke '\(step.stepId)': no function '\(qualified)' is registered with the coordinator", at: now)
                }
            }
            run.steps.append(record)
            changed.append(run.steps.count - 1)
        }
        for (index, definition, data) in invokes {
            let event = EventRecord(
                id: ids.next(nowMilliseconds: now), name: Self.functionInvokedEvent, data: data, timestampMilliseconds: now,
                traceParent: run.events.first?.traceParent ?? "")
            let child = startRun(
                of: definition, events: [event], parentRunId: run.id, parentStepId: run.steps[index].id, now: now,
                into: &effects)
            effects.writes.append(.putEvent(event, runIds: [child.id], receivedAtMilliseconds: now))
            run.steps[index].childRunId = child.id
        }
        runs[run.id] = run
        for index in waits {
            indexWait(runId: run.id, step: run.steps[index])
        }
        commit(run, changedSteps: changed, now: now, into: &effects)
        // After the run's own write: an event sent here may cancel this very run (cancelOn)
        // or resolve its waits, as any later event would.
        for event in sends {
            _ = accept(event, now: now, into: &effects)
        }
    }

    /// `time - now`, saturated to `Int64.min` or `Int64.max` where it would overflow.
    static func milliseconds(from now: Int64, to time: Int64) -> Int64 {
        let (difference, overflow) = time.subtractingReportingOverflow(now)
        guard overflow else { return difference }
        return time < now ? .min : .max
    }

    /// Why events sent by a step cannot be accepted, or nil.
    func sendProblem(_ events: [IncomingEvent]) -> (code: ErrorCode, message: String)? {
        let limits = configuration.limits
        if events.isEmpty { return (.invalidInput, "no events to send") }
        if events.count > limits.maxEventsPerSend {
            return (.invalidInput, "\(events.count) events, over the limit of \(limits.maxEventsPerSend) per step")
        }
        for (position, event) in events.enumerated() {
            if let problem = FunctionDefinition.eventNameProblem(event.name, limits: limits) {
                return (.invalidInput, "event \(position + 1): \(problem)")
            }
            if let problem = Self.eventDataProblem(event.data, limits: limits) {
                return (problem.code, "event \(position + 1) '\(event.name)': \(problem.message)")
            }
            if let id = event.id, id.isEmpty || id.utf8.count > limits.maxIdentifierBytes {
                return (.invalidInput, "event \(position + 1): an id must be 1-\(limits.maxIdentifierBytes) bytes")
            }
            if let ts = event.timestampMilliseconds, ts < 0 || ts > limits.maxEventTimestampMilliseconds {
                let maximum = limits.maxEventTimestampMilliseconds
                return (.invalidInput, "event \(position + 1): ts must be 0-\(maximum) Unix milliseconds, got \(ts)")
            }
        }
        return nil
    }

    /// Why `data` is not acceptable as an event's data (a JSON object within the size limit).
    static func eventDataProblem(_ data: [UInt8], limits: Limits) -> (code: ErrorCode, message: String)? {
        if data.count > limits.maxEventBytes {
            return (.payloadTooLarge, "data is \(data.count) bytes, over the limit of \(limits.maxEventBytes)")
        }
        guard case .object = try? JSONValue(parsing: data) else {
            return (.invalidInput, "data must be a JSON object")
        }
        return nil
    }
}
