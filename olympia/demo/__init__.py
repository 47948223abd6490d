"""Embedded demo source (procedural skeletons); see generator.py."""
from olympia.demo.generator import EXERCISES, OLYMPIA_SCALE, DemoConfig, generate_demo, generate_demo_range

__all__ = ["EXERCISES", "OLYMPIA_SCALE", "DemoConfig", "generate_demo", "generate_demo_range"]
