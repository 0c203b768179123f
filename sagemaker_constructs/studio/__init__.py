"""SageMaker Studio: the domain, user profiles, lifecycle configurations and custom images.

``StudioDomain`` creates a VPC-only domain with KMS-encrypted home storage;
``StudioUserProfile`` adds a profile to it; ``StudioLifecycleConfig`` and
``StudioCustomImage`` attach start-up scripts and images to its apps.
"""

from sagemaker_constructs.studio.studio_custom_image import StudioCustomImage
from sagemaker_constructs.studio.studio_domain import StudioDomain
from sagemaker_constructs.studio.studio_lifecycle_config import StudioLifecycleConfig
from sagemaker_constructs.studio.studio_user_profile import StudioUserProfile

__all__ = ["StudioCustomImage", "StudioDomain", "StudioLifecycleConfig", "StudioUserProfile"]
