extension CoordinatorCore {
    /// The ids among `candidates` of events something live still needs: a run that has not
    /// ended (its trigger events, a batch's events), a batch still collecting, or a debounce
    /// still waiting. Retention keeps these and deletes the others.
    ///
    /// Memory is ahead of the store, so an event a run started a moment ago (not yet durable)
    /// counts as needed too. Walks every live run: O(live runs + their events), called once per
    /// retention sweep with a bounded number of candidates.
    public func eventsInUse(among candidates: Set<String>) -> Set<String> {
        guard !candidates.isEmpty else { return [] }
        var used: Set<String> = []
        func note(_ id: String) {
            if candidates.contains(id) { used.insert(id) }
        }
        for run in runs.values {
            for event in run.events { note(event.id) }
        }
        for batch in flow.batches.values {
            for event in batch.events { note(event.id) }
        }
        for debounce in flow.debounces.values { note(debounce.event.id) }
        return used
    }
}
