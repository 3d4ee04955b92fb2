"""Fleet: the container instances an expression is evaluated over, and where they come from."""
from placement.fleet.demo import demo, demo_documents
from placement.fleet.model import Fleet, Instance, Resources

__all__ = ["Fleet", "Instance", "Resources", "demo", "demo_documents"]
