import Testing
import TetherProtocol

@testable import Tether

@Suite("WorkerOptions from the environment")
struct WorkerOptionsTests {
    @Test("every TETHER_* variable sets its option")
    func variables() {
        let options = WorkerOptions(environment: [
            "TETHER_COORDINATOR": "10.0.0.5:9000", "TETHER_SIGNING_KEY": "tsk_abc", "TETHER_CA_FILE": "/etc/ca.pem",
            "TETHER_INSTANCE_ID": "worker-7", "TETHER_MAX_CONCURRENCY": "3", "TETHER_APP_VERSION": "1.4.0",
        ])
        #expect(options.coordinator == "10.0.0.5:9000")
        #expect(options.signingKey == "tsk_abc")
        #expect(options.caFile == "/etc/ca.pem")
        #expect(options.instanceId == "worker-7")
        #expect(options.maxConcurrency == 3)
        #expect(options.appVersion == "1.4.0")
    }

    @Test("defaults without the variables, and empty variables count as unset")
    func defaults() throws {
        for environment in [[:], ["TETHER_COORDINATOR": "", "TETHER_SIGNING_KEY": "", "TETHER_CA_FILE": "", "TETHER_INSTANCE_ID": ""]] {
            let options = WorkerOptions(environment: environment)
            #expect(options.coordinator == "127.0.0.1:\(DefaultPorts.worker)")
            #expect(options.signingKey == nil)
            #expect(options.caFile == nil)
            #expect(!options.instanceId.isEmpty)
            #expect(options.maxConcurrency == 10)
            #expect(options.appVersion == "")
            #expect(try options.coordinatorAddresses() == [CoordinatorAddress(host: "127.0.0.1", port: 7421)])
        }
    }

    @Test("a TETHER_MAX_CONCURRENCY that is not an integer is ignored")
    func badConcurrency() {
        #expect(WorkerOptions(environment: ["TETHER_MAX_CONCURRENCY": "many"]).maxConcurrency == 10)
    }

    @Test("a coordinator without a port gets the default worker port")
    func defaultPort() throws {
        var options = WorkerOptions(environment: [:])
        options.coordinator = "coordinator.internal"
        #expect(try options.coordinatorAddresses() == [CoordinatorAddress(host: "coordinator.internal", port: DefaultPorts.worker)])
    }
}
