"""Training: conversion scorer, multi-objective fine-tuning of the drafter, GGUF export."""
