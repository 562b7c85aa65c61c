"""Neural network building blocks: Module, Parameter, layers, losses."""

from . import functional, init, parallel, utils  # noqa: F401
from .container import *  # noqa: F401,F403  Sequential, ModuleList, ModuleDict
from .module import *  # noqa: F401,F403  Module, Parameter
from .modules.activation import *  # noqa: F401,F403
from .modules.conv import *  # noqa: F401,F403
from .modules.conv_transpose import *  # noqa: F401,F403
from .modules.dropout import *  # noqa: F401,F403
from .modules.linear import *  # noqa: F401,F403
from .modules.loss import *  # noqa: F401,F403
from .modules.normalization import *  # noqa: F401,F403
from .modules.pooling import *  # noqa: F401,F403
from .modules.sparse import *  # noqa: F401,F403
from .modules.sync_batchnorm import *  # noqa: F401,F403
from .modules.transformer import *  # noqa: F401,F403
from .modules.upsampling import *  # noqa: F401,F403
