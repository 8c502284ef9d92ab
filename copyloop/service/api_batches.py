"""Catalog uploads and batch jobs under ``/v1``.

``POST /v1/batches`` takes a catalog file (multipart) or the id of one uploaded before, and the
channels; the job runs in the background (``BatchManager``), survives a server restart and
resumes. Poll ``GET /v1/batches/{id}`` for progress, then download ``results`` and ``errors``.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Path, Query, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse

from copyloop.errors import InputError
from copyloop.service.api import ERRORS, bearer, service
from copyloop.service.batches import BATCH_ID_PATTERN, BatchStatus
from copyloop.service.catalogs import CATALOG_ID_PATTERN, CatalogInfo, ProductSummary
from copyloop.service.errors import NotFound
from copyloop.service.service import Service
from copyloop.tools.schemas import ProductBrief

router = APIRouter(prefix="/v1", dependencies=[Depends(bearer)])

CatalogId = Path(..., pattern=CATALOG_ID_PATTERN)
BatchId = Path(..., pattern=BATCH_ID_PATTERN)
NOT_FOUND = {**ERRORS, 404: {"description": "not found"}}
MEDIA = {"jsonl": "application/x-ndjson", "csv": "text/csv", "parquet": "application/vnd.apache.parquet"}


def parse_columns(columns: str | None) -> dict[str, str] | None:
    """``columns``: a JSON object mapping product fields to your column names, e.g. {"title": "name"}."""
    if columns is None or not columns.strip():
        return None
    try:
        data = json.loads(columns)
    except json.JSONDecodeError as exc:
        raise InputError(f"columns must be a JSON object like {{\"title\": \"name\"}}: {exc.msg}", field="columns") from None
    if not isinstance(data, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in data.items()):
        raise InputError("columns must be a JSON object of strings, like {\"title\": \"name\"}", field="columns")
    return data


async def store_upload(svc: Service, file: UploadFile, columns: str | None) -> CatalogInfo:
    mapping = parse_columns(columns)
    return await run_in_threadpool(svc.catalogs.add, file.filename or "catalog.csv", file.file, mapping)


@router.post("/catalogs", response_model=CatalogInfo, status_code=201, responses=ERRORS)
async def upload_catalog(
    file: Annotated[UploadFile, File(description="CSV, TSV, JSONL or Parquet; one product per row")],
    columns: Annotated[str | None, Form(description='JSON object mapping fields to columns, e.g. {"title": "name"}')] = None,
    svc: Service = Depends(service),
) -> CatalogInfo:
    """Upload a catalog to pick products from or to run batches on."""
    return await store_upload(svc, file, columns)


@router.get("/catalogs", response_model=list[CatalogInfo], responses=ERRORS)
async def list_catalogs(svc: Service = Depends(service)) -> list[CatalogInfo]:
    return await run_in_threadpool(svc.catalogs.list)


@router.get("/catalogs/{catalog_id}", response_model=CatalogInfo, responses=NOT_FOUND)
async def get_catalog(catalog_id: str = CatalogId, svc: Service = Depends(service)) -> CatalogInfo:
    return await run_in_threadpool(svc.catalogs.info, catalog_id)


@router.get("/catalogs/{catalog_id}/products", response_model=list[ProductSummary], responses=NOT_FOUND)
async def catalog_products(
    catalog_id: str = CatalogId,
    q: str = Query("", max_length=200, description="part of the title, or an exact id"),
    limit: int = Query(50, ge=1, le=500),
    svc: Service = Depends(service),
) -> list[ProductSummary]:
    return await run_in_threadpool(svc.catalogs.search, catalog_id, q, limit)


@router.get("/catalogs/{catalog_id}/products/{product_id}", response_model=ProductBrief, responses=NOT_FOUND)
async def catalog_product(
    catalog_id: str = CatalogId, product_id: str = Path(..., max_length=300), svc: Service = Depends(service)
) -> ProductBrief:
    return await run_in_threadpool(svc.catalogs.product, catalog_id, product_id)


@router.post("/batches", response_model=BatchStatus, status_code=202, responses=NOT_FOUND)
async def create_batch(
    channels: Annotated[str, Form(min_length=1, max_length=1000, description="comma-separated channel names")],
    file: Annotated[UploadFile | None, File(description="the catalog (or give catalog_id)")] = None,
    catalog_id: Annotated[str | None, Form(pattern=CATALOG_ID_PATTERN, description="a catalog uploaded before")] = None,
    output_format: Annotated[str, Form(pattern="^(jsonl|csv|parquet)$")] = "jsonl",
    seed: Annotated[int, Form(ge=0, le=2**31 - 1)] = 0,
    limit: Annotated[int | None, Form(ge=1, le=1_000_000, description="only the first N rows")] = None,
    columns: Annotated[str | None, Form(description='JSON object mapping fields to columns, e.g. {"title": "name"}')] = None,
    diversity: Annotated[bool, Form(description="re-draft copy that reads like other products' copy (catalog pass)")] = True,
    svc: Service = Depends(service),
) -> BatchStatus:
    """Rewrite a catalog for some channels in the background (resumable; survives a restart)."""
    if file is not None and file.filename:
        catalog_id = (await store_upload(svc, file, columns)).id
    elif catalog_id is None:
        raise InputError("send a catalog file (field 'file') or the id of an uploaded one (field 'catalog_id')", field="file")
    names = [c.strip() for c in channels.split(",") if c.strip()]
    return await run_in_threadpool(svc.batches.create, catalog_id, names, output_format, seed, limit, diversity)


@router.get("/batches", response_model=list[BatchStatus], responses=ERRORS)
async def list_batches(svc: Service = Depends(service)) -> list[BatchStatus]:
    return await run_in_threadpool(svc.batches.list)


@router.get("/batches/{batch_id}", response_model=BatchStatus, responses=NOT_FOUND)
async def get_batch(batch_id: str = BatchId, svc: Service = Depends(service)) -> BatchStatus:
    """Status and progress (items drafted of items planned)."""
    return await run_in_threadpool(svc.batches.status, batch_id)


@router.post("/batches/{batch_id}/resume", response_model=BatchStatus, status_code=202, responses=NOT_FOUND)
async def resume_batch(batch_id: str = BatchId, svc: Service = Depends(service)) -> BatchStatus:
    """Run a finished or failed job again: only missing and failed items are redone."""
    return await run_in_threadpool(svc.batches.resume, batch_id)


def _file(path: Any, what: str, media_type: str, filename: str) -> FileResponse:
    if not path.is_file():
        raise NotFound(f"the {what} file is not written yet (it appears with the first finished items)", field="batch_id")
    return FileResponse(path, media_type=media_type, filename=filename)


@router.get("/batches/{batch_id}/results", response_class=FileResponse, responses={
    **NOT_FOUND, 200: {"description": "the output file (JSONL, CSV or Parquet): one row per (product, channel)"}})
async def batch_results(batch_id: str = BatchId, svc: Service = Depends(service)) -> FileResponse:
    status = await run_in_threadpool(svc.batches.status, batch_id)
    path = svc.batches.output_path(batch_id)
    return _file(path, "results", MEDIA[status.output_format], f"batch-{batch_id[:8]}.{status.output_format}")


@router.get("/batches/{batch_id}/errors", response_class=FileResponse, responses={
    **NOT_FOUND, 200: {"description": "JSON lines: rejected input rows and failed items, with the reason"}})
async def batch_errors(batch_id: str = BatchId, svc: Service = Depends(service)) -> FileResponse:
    await run_in_threadpool(svc.batches.status, batch_id)
    return _file(svc.batches.errors_path(batch_id), "errors", MEDIA["jsonl"], f"batch-{batch_id[:8]}.errors.jsonl")


__all__ = ["parse_columns", "router", "store_upload"]
