"""Flask extensions, created unbound; `create_app` binds them."""

from flask_login import LoginManager
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect

from checkout.db import Base
from checkout.deferred_migrate import DeferredMigrate

db = SQLAlchemy(model_class=Base, session_options={"expire_on_commit": False})
migrate = DeferredMigrate()
login_manager = LoginManager()
csrf = CSRFProtect()
