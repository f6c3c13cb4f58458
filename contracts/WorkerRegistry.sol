// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {BlobRef, BlobStore} from "./BlobStore.sol";

/// @title WorkerRegistry
/// @notice The proxy model's Worker Registry (EEA Off-Chain Trusted Compute Specification): workers
/// registered with their type, organization, application types and details, the JSON of the spec's
/// worker details (keys, algorithms and attestation evidence). The account that registers a worker is
/// the only one that may change it, and the one that completes the worker's work orders.
contract WorkerRegistry {
    uint8 internal constant STATUS_ACTIVE = 1;
    uint8 internal constant STATUS_COMPROMISED = 4;
    uint256 internal constant WORKER_TYPE_MAX = 3;

    /// Slot 0 holds what the WorkOrderRegistry reads on every submit and complete: one cold read.
    struct Worker {
        address registrant;
        uint8 status;
        uint8 workerType;
        BlobRef details;
        bytes32 organizationId;
        bytes32[] applicationTypeIds;
    }

    /// Ids matched per lookup page; fixed at deployment.
    uint256 public immutable lookUpPageSize;

    mapping(bytes32 => Worker) private workers;
    /// Registration order: a lookup tag is a position in this list, which only grows.
    bytes32[] private workerIds;

    /// @notice A worker was registered by `registrant`, now its only updater and the account that completes its work orders.
    event workerRegistered(
        bytes32 indexed workerId,
        address indexed registrant,
        uint256 workerType,
        bytes32 organizationId,
        bytes32[] applicationTypeIds
    );
    /// @notice A worker's details were replaced; read them with workerRetrieve.
    event workerUpdated(bytes32 indexed workerId);
    /// @notice A worker's status changed (1 active, 2 off-line, 3 decommissioned, 4 compromised).
    event workerStatusChanged(bytes32 indexed workerId, uint256 status);

    /// @param pageSize Ids per lookup page; positive.
    constructor(uint256 pageSize) {
        require(pageSize > 0, "WorkerRegistry: lookup page size must be positive");
        lookUpPageSize = pageSize;
    }

    modifier onlyRegistrant(bytes32 workerId) {
        address registrant = workers[workerId].registrant;
        require(registrant != address(0), "WorkerRegistry: unknown worker");
        require(msg.sender == registrant, "WorkerRegistry: only the account that registered the worker may change it");
        _;
    }

    /// @notice Registers a worker as active, with the caller as its registrant.
    /// @param workerId The worker's id (Avalon: SHA-256 of its name); non-zero and not yet registered.
    /// @param workerType 1 TEE, 2 MPC, 3 ZK.
    /// @param organizationId The operating organization; non-zero.
    /// @param applicationTypeIds The application types the worker serves; none may be zero.
    /// @param details The spec's worker details as JSON; non-empty.
    function workerRegister(
        bytes32 workerId,
        uint256 workerType,
        bytes32 organizationId,
        bytes32[] calldata applicationTypeIds,
        string calldata details
    ) external {
        require(workerId != bytes32(0), "WorkerRegistry: worker id is zero");
        require(workers[workerId].registrant == address(0), "WorkerRegistry: worker already registered");
        require(workerType >= 1 && workerType <= WORKER_TYPE_MAX, "WorkerRegistry: worker type must be 1 (TEE), 2 (MPC) or 3 (ZK)");
        require(organizationId != bytes32(0), "WorkerRegistry: organization id is zero");
        for (uint256 i = 0; i < applicationTypeIds.length; ++i) {
            require(applicationTypeIds[i] != bytes32(0), "WorkerRegistry: application type id is zero");
        }
        require(bytes(details).length > 0, "WorkerRegistry: details are empty");

        Worker storage worker = workers[workerId];
        worker.registrant = msg.sender;
        worker.status = STATUS_ACTIVE;
        worker.workerType = uint8(workerType);
        worker.details = BlobStore.write(bytes(details));
        worker.organizationId = organizationId;
        worker.applicationTypeIds = applicationTypeIds;
        workerIds.push(workerId);
        emit workerRegistered(workerId, msg.sender, workerType, organizationId, applicationTypeIds);
    }

    /// @notice Replaces a worker's details (for example after an encryption-key rotation). Registrant only.
    /// @param workerId A registered worker.
    /// @param details The new details JSON; non-empty.
    function workerUpdate(bytes32 workerId, string calldata details) external onlyRegistrant(workerId) {
        require(bytes(details).length > 0, "WorkerRegistry: details are empty");
        workers[workerId].details = BlobStore.write(bytes(details));
        emit workerUpdated(workerId);
    }

    /// @notice Sets a worker's status. Registrant only. Only an active worker accepts new work orders.
    /// @param workerId A registered worker.
    /// @param status 1 active, 2 off-line, 3 decommissioned, 4 compromised.
    function workerSetStatus(bytes32 workerId, uint256 status) external onlyRegistrant(workerId) {
        require(status >= STATUS_ACTIVE && status <= STATUS_COMPROMISED, "WorkerRegistry: status must be 1 (active) to 4 (compromised)");
        workers[workerId].status = uint8(status);
        emit workerStatusChanged(workerId, status);
    }

    /// @notice The first page of workers matching every given criterion; a zero criterion matches any worker.
    /// @return totalCount How many workers match in all.
    /// @return lookUpTag Pass to workerLookUpNext for the next page; 0 when there is none.
    /// @return ids This page's worker ids, in registration order.
    function workerLookUp(uint256 workerType, bytes32 organizationId, bytes32 applicationTypeId)
        external
        view
        returns (uint256 totalCount, uint256 lookUpTag, bytes32[] memory ids)
    {
        return lookUpFrom(workerType, organizationId, applicationTypeId, 0);
    }

    /// @notice The page of matching workers that starts at `lookUpTag`, a tag from the previous page.
    function workerLookUpNext(uint256 workerType, bytes32 organizationId, bytes32 applicationTypeId, uint256 lookUpTag)
        external
        view
        returns (uint256 totalCount, uint256 newLookUpTag, bytes32[] memory ids)
    {
        return lookUpFrom(workerType, organizationId, applicationTypeId, lookUpTag);
    }

    /// @notice A worker's record; status 0 means the id is not registered.
    function workerRetrieve(bytes32 workerId)
        external
        view
        returns (
            uint256 status,
            uint256 workerType,
            bytes32 organizationId,
            bytes32[] memory applicationTypeIds,
            string memory details
        )
    {
        Worker storage worker = workers[workerId];
        return (worker.status, worker.workerType, worker.organizationId, worker.applicationTypeIds, string(BlobStore.read(worker.details)));
    }

    /// @notice Who may complete a worker's work orders, and whether it takes new ones; (0, 0) when unknown.
    function workerRegistrant(bytes32 workerId) external view returns (address registrant, uint256 status) {
        Worker storage worker = workers[workerId];
        return (worker.registrant, worker.status);
    }

    function lookUpFrom(uint256 workerType, bytes32 organizationId, bytes32 applicationTypeId, uint256 start)
        private
        view
        returns (uint256 totalCount, uint256 nextTag, bytes32[] memory ids)
    {
        ids = new bytes32[](lookUpPageSize);
        uint256 found = 0;
        uint256 registered = workerIds.length;
        for (uint256 position = 0; position < registered; ++position) {
            bytes32 workerId = workerIds[position];
            if (!matches(workers[workerId], workerType, organizationId, applicationTypeId)) continue;
            ++totalCount;
            if (position < start) continue;
            if (found < ids.length) ids[found++] = workerId;
            else if (nextTag == 0) nextTag = position;
        }
        // Trim the page to the ids found.
        assembly ("memory-safe") {
            mstore(ids, found)
        }
    }

    function matches(Worker storage worker, uint256 workerType, bytes32 organizationId, bytes32 applicationTypeId)
        private
        view
        returns (bool)
    {
        if (workerType != 0 && worker.workerType != workerType) return false;
        if (organizationId != bytes32(0) && worker.organizationId != organizationId) return false;
        if (applicationTypeId == bytes32(0)) return true;
        bytes32[] storage served = worker.applicationTypeIds;
        for (uint256 i = 0; i < served.length; ++i) {
            if (served[i] == applicationTypeId) return true;
        }
        return false;
    }
}
