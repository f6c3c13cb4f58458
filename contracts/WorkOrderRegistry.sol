// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {BlobRef, BlobStore} from "./BlobStore.sol";
import {WorkerRegistry} from "./WorkerRegistry.sol";

/// @title WorkOrderRegistry
/// @notice The proxy model's work-order queue (EEA Off-Chain Trusted Compute Specification): a requester
/// submits a work order request (JSON) to an active worker; that worker's registrant account completes
/// it once with the response (JSON). Connectors follow the workOrderSubmitted events.
contract WorkOrderRegistry {
    /// Avalon numbers these NULL 0, ACTIVE 1, COMPLETED 2 (its FAILED 3 is never set: a failure travels as
    /// an error response, as in the direct model).
    uint8 internal constant STATUS_SUBMITTED = 1;
    uint8 internal constant STATUS_COMPLETED = 2;
    uint256 internal constant WORKER_ACTIVE = 1;

    /// Three slots at submit; complete rewrites the status and fills the response slot.
    struct WorkOrder {
        bytes32 workerId;
        address requester;
        uint8 status;
        BlobRef request;
        BlobRef response;
    }

    /// @notice The registry whose workers this registry's work orders name.
    WorkerRegistry public immutable workerRegistry;

    mapping(bytes32 => WorkOrder) private workOrders;

    /// @notice A work order was submitted by `senderAddress` for `workerId`; `workOrderRequest` is its JSON.
    event workOrderSubmitted(
        bytes32 indexed workOrderId,
        bytes32 indexed workerId,
        bytes32 indexed requesterId,
        string workOrderRequest,
        address senderAddress
    );
    /// @notice A work order was completed by its worker; `workOrderResponse` is the response JSON.
    event workOrderCompleted(
        bytes32 indexed workOrderId,
        bytes32 indexed workerId,
        uint256 workOrderStatus,
        string workOrderResponse
    );

    /// @param workers The WorkerRegistry whose registrants complete this registry's work orders.
    constructor(WorkerRegistry workers) {
        require(address(workers) != address(0), "WorkOrderRegistry: worker registry address is zero");
        workerRegistry = workers;
    }

    /// @notice Submits a work order; the caller becomes its requester account (the one that may create its receipt).
    /// @param workOrderId The request's workOrderId; non-zero and never submitted before.
    /// @param workerId A registered, active worker.
    /// @param requesterId The request's requesterId (indexed in the event for requesters to follow).
    /// @param workOrderRequest The WorkOrderSubmit params as JSON; non-empty.
    function workOrderSubmit(
        bytes32 workOrderId,
        bytes32 workerId,
        bytes32 requesterId,
        string calldata workOrderRequest
    ) external {
        require(workOrderId != bytes32(0), "WorkOrderRegistry: work order id is zero");
        require(bytes(workOrderRequest).length > 0, "WorkOrderRegistry: request is empty");
        WorkOrder storage order = workOrders[workOrderId];
        require(order.status == 0, "WorkOrderRegistry: work order id already submitted");
        (, uint256 workerStatus) = workerRegistry.workerRegistrant(workerId);
        require(workerStatus != 0, "WorkOrderRegistry: unknown worker");
        require(workerStatus == WORKER_ACTIVE, "WorkOrderRegistry: worker is not active");

        order.workerId = workerId;
        order.requester = msg.sender;
        order.status = STATUS_SUBMITTED;
        order.request = BlobStore.write(bytes(workOrderRequest));
        emit workOrderSubmitted(workOrderId, workerId, requesterId, workOrderRequest, msg.sender);
    }

    /// @notice Completes a submitted work order with its response. Only the account that registered the
    /// worker the work order names may call this, and only once.
    /// @param workOrderId A submitted, not yet completed work order.
    /// @param workOrderResponse The JSON-RPC response (result or error) as JSON; non-empty.
    function workOrderComplete(bytes32 workOrderId, string calldata workOrderResponse) external {
        WorkOrder storage order = workOrders[workOrderId];
        uint8 status = order.status;
        require(status != 0, "WorkOrderRegistry: unknown work order");
        bytes32 workerId = order.workerId;
        (address registrant,) = workerRegistry.workerRegistrant(workerId);
        require(msg.sender == registrant, "WorkOrderRegistry: only the account that registered the work order's worker may complete it");
        require(status == STATUS_SUBMITTED, "WorkOrderRegistry: work order already completed");
        require(bytes(workOrderResponse).length > 0, "WorkOrderRegistry: response is empty");

        order.status = STATUS_COMPLETED;
        order.response = BlobStore.write(bytes(workOrderResponse));
        emit workOrderCompleted(workOrderId, workerId, STATUS_COMPLETED, workOrderResponse);
    }

    /// @notice A work order: status 0 unknown, 1 submitted, 2 completed; the response is empty until completed.
    function workOrderGet(bytes32 workOrderId)
        external
        view
        returns (uint256 status, bytes32 workerId, string memory request, string memory response)
    {
        WorkOrder storage order = workOrders[workOrderId];
        return (order.status, order.workerId, string(BlobStore.read(order.request)), string(BlobStore.read(order.response)));
    }

    /// @notice What the receipt registry checks a receipt against: the work order's status, worker and
    /// requester account; all zero when unknown.
    function workOrderParties(bytes32 workOrderId)
        external
        view
        returns (uint256 status, bytes32 workerId, address requester)
    {
        WorkOrder storage order = workOrders[workOrderId];
        return (order.status, order.workerId, order.requester);
    }
}
